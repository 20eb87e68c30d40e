"""A lesson's file and title: which files of a folder are lessons, and what each is called.

The title is the lesson's first ``# Title`` heading, else its file name made readable. The app
reads it from the lesson's source (before any trace), the exported site and the notebook from a
transcript's narratives; both find the same heading with :func:`first_heading`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["first_heading", "lesson_title", "lessons_in", "prettify_stem", "source_title"]

_HEADING = re.compile(r"^\s{0,3}#\s+(?P<title>.+?)\s*#*\s*$")


def prettify_stem(stem: str) -> str:
    """``02_lazy_loading`` -> ``Lazy loading``."""
    words = re.sub(r"^\d+[_\-\s]*", "", stem).replace("_", " ").replace("-", " ").strip()
    return (words[:1].upper() + words[1:]) if words else stem


def first_heading(texts: Iterable[str]) -> str | None:
    """The text of the first level-one markdown heading among ``texts``, or None."""
    for text in texts:
        for line in text.splitlines():
            if match := _HEADING.match(line):
                return match["title"]
    return None


def lesson_title(transcript: Mapping[str, Any], stem: str) -> str:
    """The first ``# Title`` heading of the lesson's narratives, else the prettified file stem."""
    narratives = (str(step.get("narrative") or "") for step in transcript.get("steps", []))
    return first_heading(narratives) or prettify_stem(stem)


_SOURCE_HEADING = re.compile(r"^#\s{1,3}#\s+(?P<title>.+?)\s*#*\s*$", re.MULTILINE)


def source_title(source: str, stem: str) -> str:
    """A lesson's title read from its program text (its first markdown cell's ``# Title``),
    else the prettified stem: the title of a lesson not traced yet (the previous page's link)."""
    match = _SOURCE_HEADING.search(source)
    return match["title"] if match else prettify_stem(stem)


def lessons_in(folder: Path) -> list[Path]:
    """The lessons of ``folder``: its ``*.py`` files in name order (``01_...``, ``02_...``),
    without private (``_helpers.py``) and hidden ones."""
    return sorted(path for path in folder.glob("*.py") if not path.name.startswith(("_", ".")))
