"""Golden files: compare a text with its file, or rewrite the file after an intended change.

Both golden suites (the lessons on SQLite, tests/trace/test_lessons.py, and on PostgreSQL,
tests/trace/test_lessons_postgresql.py) compare and rewrite their files here, so that
``--update-goldens`` means the same thing for each.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["check_golden", "check_no_orphans"]


def check_golden(path: Path, text: str, update: bool, command: str) -> None:
    """Assert that ``path`` holds ``text``; with ``update``, write ``text`` there instead.

    ``command`` is what rewrites the goldens, named in the failure so that a reader knows the
    next step once the difference is reviewed.
    """
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden transcript {path.name}: run {command}"
    assert text == path.read_text(encoding="utf-8"), f"transcript changed; review, then run {command}"


def check_no_orphans(folder: Path, stems: Iterable[str], update: bool) -> None:
    """Assert that every ``*.json`` golden in ``folder`` belongs to one of ``stems``; with
    ``update``, delete those that do not (a lesson renamed or removed)."""
    kept = set(stems)
    orphans = sorted(path for path in folder.glob("*.json") if path.stem not in kept)
    if update:
        for orphan in orphans:
            orphan.unlink()
        return
    assert not orphans, (
        f"golden transcripts in {folder.name}/ without a lesson: {[path.name for path in orphans]}"
    )
