"""A lesson's file and title: which files of a folder are lessons, and what each is called.

The title is the lesson's first ``# Title`` heading, else its file name made readable
(:mod:`sqlecho._transcript.titles`, the one rule). The app reads it from the lesson's source
before any trace (:func:`sqlecho._trace.titles.source_title`), the exported site and the
notebook from a transcript's narratives (:func:`lesson_title`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._transcript.titles import first_heading, prettify_stem

__all__ = ["first_heading", "is_lesson_name", "lesson_title", "lessons_in", "prettify_stem"]


def lesson_title(transcript: Mapping[str, Any], stem: str) -> str:
    """The first ``# Title`` heading of the lesson's narratives, else the prettified file stem."""
    narratives = (str(step.get("narrative") or "") for step in transcript.get("steps", []))
    return first_heading(narratives) or prettify_stem(stem)


def is_lesson_name(name: str) -> bool:
    """Whether a file of a lessons folder is a lesson, by its name: ``*.py``, neither private
    (``_helpers.py``) nor hidden."""
    return name.endswith(".py") and not name.startswith(("_", "."))


def lessons_in(folder: Path) -> list[Path]:
    """The lessons of ``folder``: its ``*.py`` files in name order (``01_...``, ``02_...``),
    without private (``_helpers.py``) and hidden ones."""
    return sorted(path for path in folder.glob("*.py") if is_lesson_name(path.name))
