"""``python -m sqlecho export``: trace lessons and write them as a static site.

The site is ``index.html`` plus one self-contained page per lesson
(:func:`sqlecho._render.export.viewer_page`): a teacher copies the folder to any static host,
or opens it from disk, and no server runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._files import SiteFolder
from ._render.diff import database_label, variant_label
from ._render.export import Variant, index_page, viewer_page
from ._render.renamed import moved_page, moved_pages
from ._render.titles import lesson_title, lessons_in
from ._trace.options import SWITCHES as EVERY_SWITCH
from ._trace.options import Runner, TraceOptions
from ._trace.titles import source_title

__all__ = ["SWITCHES", "Page", "lesson_files", "write_site"]

SWITCHES = tuple(switch.off() for switch in EVERY_SWITCH)
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
            inside = lessons_in(path)
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
    out: Path | SiteFolder,
    runner: Runner,
    *,
    switches: bool = False,
    databases: Sequence[str] = (),
    progress: Callable[[Page], None] | None = None,
) -> list[Page]:
    """Trace every lesson and write ``out/index.html`` and ``out/<stem>.html`` (and, for a lesson
    that was renumbered, a page under its old name that forwards to the new one).

    Args:
        lessons: (path, program text) of each lesson, in the order of the index.
        out: the site's folder (created if missing; pages of the same names are replaced), or
            one already opened (:class:`~sqlecho._files.SiteFolder`: a folder of the invoker's,
            written into through new files only).
        runner: traces one program (sandboxed or in-process).
        switches: also run each lesson with every teacher switch and embed the comparisons.
        databases: also run each lesson on these databases (``postgresql``) and embed the
            comparisons with SQLite (the runner gives each run its database).
        progress: called after each page is written.
    """
    folder = out if isinstance(out, SiteFolder) else SiteFolder(out)
    pages: list[Page] = []
    entries: list[tuple[str, str, int]] = []
    for at, (path, source) in enumerate(lessons):
        transcript = runner(source, path, TraceOptions(), str(path))
        variants = []
        if switches:
            for options in SWITCHES:
                other = runner(source, path, options, str(path))
                label = variant_label(options.switches())
                variants.append(Variant(label, other))
        for database in databases:
            other = runner(source, path, TraceOptions(database=database), str(path))
            variants.append(Variant(database_label(other), other))
        title = lesson_title(transcript, path.stem)
        onward = None
        if at + 1 < len(lessons):
            following, following_source = lessons[at + 1]
            onward = (f"{following.stem}.html", source_title(following_source, following.stem))
        html = viewer_page(
            transcript, source, title=title, variants=variants, stem=path.stem, next_lesson=onward
        )
        data = html.encode("utf-8")
        target = folder.write(f"{path.stem}.html", data)
        page = Page(target, title, len(data), transcript.get("status") == "ok")
        pages.append(page)
        entries.append((path.stem, title, len(transcript["steps"])))
        if progress is not None:
            progress(page)
    folder.write("index.html", index_page(entries).encode("utf-8"))
    # A lesson that was renumbered keeps a page under its old name, so old links still arrive.
    for old, new in moved_pages([stem for stem, _, _ in entries]):
        folder.write(f"{old}.html", moved_page(new).encode("utf-8"))
    if folder is not out:
        folder.close()
    return pages
