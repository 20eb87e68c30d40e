"""The terminal form of a comparison of two runs: what the second run did differently, per step.

``python -m sqlecho trace FILE --compare EDITED`` (the same lesson with a cell changed) and
``--compare-db`` (the same program on SQLite and on PostgreSQL) print this: for each step where
the runs differ, the sentences of :mod:`sqlecho._render.diff`, then the statements only one run
sent (``-`` only in the first, ``+`` only in the second). Steps where both did the same are one
line each, so that the reader sees where the runs part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..transcript import Step
from .diff import TranscriptDiff
from .plain import terminal_safe
from .text import format_event

__all__ = ["format_comparison"]

_RULE = "─"


def _title(step: Step | None, index: int | None) -> str:
    if step is None or index is None:
        return "(no such step)"
    first, last = step["lines"]
    lines = f"line {first}" if first == last else f"lines {first}-{last}"
    title = step.get("title")
    return f"Step {index + 1}{' · ' + title if title else ''} · {lines}"


def format_comparison(
    diff: TranscriptDiff, a: Mapping[str, Any], b: Mapping[str, Any], names: tuple[str, str]
) -> str:
    """The comparison as text for a terminal (control characters shown as ``\\xNN``).

    Args:
        diff: :func:`~sqlecho._render.diff.diff_transcripts` of ``a`` and ``b``.
        a, b: the two transcripts.
        names: what to call each run in the heading (``lessons/06.py``, ``edited.py``).
    """
    lines = [f"Comparing {names[0]} with {names[1]}", ""]
    differing = 0
    for pair in diff.steps:
        step_a = a["steps"][pair.a_index] if pair.a_index is not None else None
        step_b = b["steps"][pair.b_index] if pair.b_index is not None else None
        heading = _title(step_a, pair.a_index) if step_a is not None else _title(step_b, pair.b_index)
        if pair.same:
            lines.append(f"  = {heading}: the same")
            continue
        differing += 1
        lines.append(f"{_RULE * 2} {heading} {_RULE * 20}")
        lines += [f"  {note}" for note in pair.notes]
        for index in pair.only_a:
            assert step_a is not None
            lines.append("  -" + format_event(step_a["events"][index])[1:])
        for index in pair.only_b:
            assert step_b is not None
            lines.append("  +" + format_event(step_b["events"][index])[1:])
    summary = (
        "the runs did the same in every step"
        if not differing
        else f"{differing} step{'s' * (differing != 1)} differ"
    )
    lines += ["", summary]
    return terminal_safe("\n".join(lines))
