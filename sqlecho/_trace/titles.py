"""A lesson's title read from its program text, before any trace: the first ``# Title`` heading
of its markdown cells (as the cell parser reads them), else its file name made readable.

The app's lesson list and the exported site's link to the next page both use it; a traced
lesson's title is read from its transcript's narratives by the same rule
(:mod:`sqlecho._transcript.titles`).
"""

from __future__ import annotations

from .._transcript.titles import first_heading, prettify_stem
from .cells import CellKind, parse_cells

__all__ = ["source_title"]


def source_title(source: str, stem: str) -> str:
    """The text of the lesson's first ``# Title`` heading (in a markdown cell), else the
    prettified stem (also for a file the cell parser refuses)."""
    try:
        cells = parse_cells(source)
    except ValueError:
        return prettify_stem(stem)
    markdown = (cell.text for cell in cells if cell.kind is CellKind.MARKDOWN)
    return first_heading(markdown) or prettify_stem(stem)
