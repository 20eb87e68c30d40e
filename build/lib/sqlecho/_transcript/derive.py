"""Facts derived from a transcript's steps, computed once per trace by whoever shows it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["attribute_order", "statement_counts", "status_of"]


def statement_counts(steps: Iterable[Mapping[str, Any]]) -> Counter[int]:
    """How many SQL statements each line of the program caused, over ``steps``."""
    counts: Counter[int] = Counter()
    for step in steps:
        for event in step["events"]:
            if event["kind"] == "sql" and event.get("line") is not None:
                counts[event["line"]] += 1
    return counts


def attribute_order(steps: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
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


def status_of(steps: Iterable[Mapping[str, Any]], status: str) -> str:
    """A transcript's ``status``: "limit" when a step was stopped by a sandbox limit, else
    ``status`` ("ok" or "error", as the run ended)."""
    return "limit" if any((step.get("error") or {}).get("limit") for step in steps) else status
