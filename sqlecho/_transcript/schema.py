"""The transcript's vocabulary in one place: groups of event kinds and the record builders.

The types are public, in :mod:`sqlecho.transcript`; this module holds what code needs besides
types: which event kinds belong together, and the one way to write an error record and a
transcript's header. No SQLAlchemy here: the renderers and the sandbox's parent process use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from ..transcript import EventKind, ObjectStateName

__all__ = [
    "DATABASE_EVENTS",
    "LIFECYCLE_EVENTS",
    "MAX_EVENTS",
    "MAX_ROWS",
    "MAX_STEPS",
    "OBJECT_STATES",
    "SWITCH_NAMES",
    "TRANSACTION_EVENTS",
    "TRANSCRIPT_VERSION",
    "error",
    "header",
]

TRANSCRIPT_VERSION = 1
"""The ``version`` field: a change to a promised field comes with a new version."""

OBJECT_STATES: tuple[ObjectStateName, ...] = get_args(ObjectStateName)
"""The five states of an ORM object, in the order of its life: the ``Literal`` read once."""

SWITCH_NAMES = ("expire_on_commit", "autoflush")
"""The teacher's what-if switches: the Session arguments a run can override, the keys of a
transcript's ``options`` field, the fields of ``TraceOptions`` of those names. Their words for
each reader (the command line's flags, the app's links) are in ``sqlecho._trace.options.SWITCHES``."""

MAX_STEPS = 2000
"""Steps the tracer makes of a line-by-line run before it stops stepping (not running)."""
MAX_EVENTS = 20_000
"""Events the tracer keeps in a whole transcript; later ones are counted, not kept."""
MAX_ROWS = 200
"""Rows the tracer keeps per table in each step's database snapshot."""

TRANSACTION_EVENTS: frozenset[EventKind] = frozenset({"begin", "commit", "rollback"})
"""Transaction control, as SQLAlchemy's events report it (echo's BEGIN/COMMIT/ROLLBACK)."""
LIFECYCLE_EVENTS: frozenset[EventKind] = frozenset({"transition", "expire", "refresh", "load"})
"""What happened to ORM objects, as opposed to SQL or output."""
DATABASE_EVENTS: frozenset[EventKind] = frozenset({"sql", "commit", "rollback"})
"""Events after which the committed rows may differ."""


def error(type_: str, message: str, line: int | None = None, *, expected: bool = False) -> dict[str, object]:
    """A step's ``error`` record: ``{"type", "message", "line", "expected"}``."""
    return {"type": type_, "message": message, "line": line, "expected": expected}


def header(
    source: str, mode: str, options: Mapping[str, bool | None], versions: Mapping[str, str], status: str
) -> dict[str, object]:
    """The fields of a transcript before its ``steps``, in the order the JSON shows them."""
    return {
        "version": TRANSCRIPT_VERSION,
        "source": source,
        "mode": mode,
        "options": dict(options),
        "versions": dict(versions),
        "status": status,
    }
