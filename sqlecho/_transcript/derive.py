"""Facts derived from a transcript's steps, computed once per trace by whoever shows it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ..transcript import Step, TableRecord
from .counting import statements_per_line

__all__ = ["attribute_order", "row_changes", "statement_counts", "status_of"]


def statement_counts(steps: Iterable[Step]) -> Counter[int]:
    """How many statements each line of the program sent, over ``steps`` (as :mod:`.counting` counts)."""
    return statements_per_line(steps)


def attribute_order(steps: Iterable[Step]) -> dict[str, list[str]]:
    """Per class, its attributes in first-seen order, so that a card's rows never jump around.

    Loaded values come in the mapper's column order; expired names are sorted, so they only
    fill in attributes never seen loaded.
    """
    steps = list(steps)
    order: dict[str, dict[str, None]] = {}
    for pass_ in ("values", "rest"):
        for step in steps:
            for obj in step["objects"]:
                known = order.setdefault(obj["class"], {})
                names = obj["values"] if pass_ == "values" else (*obj["expired"], *obj.get("unloaded", ()))
                for name in names:
                    known.setdefault(name, None)
    return {cls: list(names) for cls, names in order.items()}


def row_changes(table: TableRecord, before: TableRecord | None) -> tuple[list[str], list[list[object]]]:
    """How the committed rows of ``table`` differ from ``before``, the same table a step earlier.

    Returns one mark per row of ``table`` ("" unchanged, "new" or "changed") and the rows of
    ``before`` that are gone. A row is the same row as before when its primary key is (a table
    snapshot names its key columns in ``primary_key``); a table without a primary key has no
    identity but its values, so there a row is either still there, whole, or new, and a row
    that changed shows as one removed and one new.
    """
    rows = [list(row) for row in table["rows"]]
    if before is None:
        return [""] * len(rows), []
    old_rows = [list(row) for row in before["rows"]]
    key_columns = table.get("primary_key") or []
    if key_columns and key_columns == before.get("primary_key"):
        positions = [table["columns"].index(column) for column in key_columns]

        def key(row: list[object]) -> tuple[str, ...]:
            return tuple(repr(row[position]) for position in positions)

        old = {key(row): row for row in old_rows}
        keys = {key(row) for row in rows}
        marks = [
            "" if old.get(key(row)) == row else ("changed" if key(row) in old else "new") for row in rows
        ]
        return marks, [row for row in old_rows if key(row) not in keys]
    # Whole rows, counted: two equal rows of a keyless table are two rows.
    left = Counter(repr(row) for row in old_rows)
    marks = []
    for row in rows:
        if left[repr(row)] > 0:
            left[repr(row)] -= 1
            marks.append("")
        else:
            marks.append("new")
    gone = []
    for row in old_rows:
        if left[repr(row)] > 0:
            left[repr(row)] -= 1
            gone.append(row)
    return marks, gone


def status_of(steps: Iterable[Mapping[str, object]], status: str) -> str:
    """A transcript's ``status``: "limit" when a step was stopped by a sandbox limit, else
    ``status`` ("ok" or "error", as the run ended)."""
    return "limit" if any(_stopped_by_limit(step) for step in steps) else status


def _stopped_by_limit(step: Mapping[str, object]) -> bool:
    error = step.get("error")
    return isinstance(error, Mapping) and bool(error.get("limit"))
