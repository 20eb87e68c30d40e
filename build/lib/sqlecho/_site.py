"""``python -m sqlecho export``: trace lessons and write them as a static site.

The site is ``index.html`` plus one self-contained page per lesson
(:func:`sqlecho._render.export.viewer_page`): a teacher copies the folder to any static host,
or opens it from disk, and no server runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._render.diff import variant_label
from ._render.export import Variant, index_page, lesson_title, viewer_page
from ._trace.options import Runner, TraceOptions

__all__ = ["SWITCHES", "Page", "lesson_files", "write_site"]

SWITCHES = (TraceOptions(expire_on_commit=False), TraceOptions(autoflush=False))
"""The teacher's switches that ``--switches`` runs each lesson with, besides the run as written."""


@dataclass(frozen=True)
class Page:
    """One page written."""

    path: Path
    title: str
    bytes: int
    ok: bool
    """The lesson ran to its end (cells tagged ``raises-exception`` may raise)."""


def lesson_files(paths: Sequence[Path]) -> list[Path]:
    """The Python files named by ``paths`` (files as given; folders: their ``*.py``, sorted).

    Raises:
        ValueError: a path does not exist, a folder holds no lesson, or two lessons share a
            file stem (their pages would have the same name).
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
            if not inside:
                raise ValueError(f"{path} holds no Python file")
            found.extend(inside)
        elif path.exists():
            found.append(path)
        else:
            raise ValueError(f"no such file or folder: {path}")
    stems: dict[str, Path] = {}
    for path in found:
        if path.stem in stems and stems[path.stem].resolve() != path.resolve():
            raise ValueError(f"two lessons would both be {path.stem}.html: {stems[path.stem]} and {path}")
        stems[path.stem] = path
    return list(stems.values())


def write_site(
    lessons: Sequence[tuple[Path, str]],
    out: Path,
    runner: Runner,
    *,
    switches: bool = False,
    progress: Callable[[Page], None] | None = None,
) -> list[Page]:
    """Trace every lesson and write ``out/index.html`` and ``out/<stem>.html``.

    Args:
        lessons: (path, program text) of each lesson, in the order of the index.
        out: the site's folder (created if missing; pages of the same names are replaced).
        runner: traces one program (sandboxed or in-process).
        switches: also run each lesson with every teacher switch and embed the comparisons.
        progress: called after each page is written.
    """
    out.mkdir(parents=True, exist_ok=True)
    pages: list[Page] = []
    entries: list[tuple[str, str, int]] = []
    for path, source in lessons:
        transcript = runner(source, path, TraceOptions(), str(path))
        variants = []
        if switches:
            for options in SWITCHES:
                other = runner(source, path, options, str(path))
                label = variant_label(
                    {"expire_on_commit": options.expire_on_commit, "autoflush": options.autoflush}
                )
                variants.append(Variant(label, other))
        title = lesson_title(transcript, path.stem)
        html = viewer_page(transcript, source, title=title, variants=variants)
        target = out / f"{path.stem}.html"
        data = html.encode("utf-8")
        target.write_bytes(data)
        page = Page(target, title, len(data), transcript.get("status") == "ok")
        pages.append(page)
        entries.append((path.stem, title, len(transcript["steps"])))
        if progress is not None:
            progress(page)
    (out / "index.html").write_text(index_page(entries), encoding="utf-8")
    return pages
