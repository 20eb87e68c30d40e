"""What a lesson is called: its first ``# Title`` heading, else its file name made readable.

The rule is read in two places, both through these functions: from a transcript's narratives
(:func:`sqlecho._render.titles.lesson_title`: the exported site, the notebook) and from a
program's markdown cells before any trace (:func:`sqlecho._trace.titles.source_title`: the app's
lesson list, the exported site's link to the next page).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["first_heading", "prettify_stem"]

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
