"""The transcript's vocabulary in one place: groups of event kinds and the record builders.

The types are public, in :mod:`sqlecho.transcript`; this module holds what code needs besides
types: which event kinds belong together, and the one way to write an error record and a
transcript's header. No SQLAlchemy here: the renderers and the sandbox's parent process use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..transcript import EventKind

__all__ = [
    "DATABASE_EVENTS",
    "LIFECYCLE_EVENTS",
    "TRANSACTION_EVENTS",
    "TRANSCRIPT_VERSION",
    "error",
    "header",
]

TRANSCRIPT_VERSION = 1
"""The ``version`` field: a change to a promised field comes with a new version."""

TRANSACTION_EVENTS: frozenset[EventKind] = frozenset({"begin", "commit", "rollback"})
"""Transaction control, as SQLAlchemy's events report it (echo's BEGIN/COMMIT/ROLLBACK)."""
LIFECYCLE_EVENTS: frozenset[EventKind] = frozenset({"transition", "expire", "refresh", "load"})
"""What happened to ORM objects, as opposed to SQL or output."""
DATABASE_EVENTS: frozenset[EventKind] = frozenset({"sql", "commit", "rollback"})
"""Events after which the committed rows may differ."""


def error(type_: str, message: str, line: int | None = None, *, expected: bool = False) -> dict[str, Any]:
    """A step's ``error`` record: ``{"type", "message", "line", "expected"}``."""
    return {"type": type_, "message": message, "line": line, "expected": expected}


def header(
    source: str, mode: str, options: Mapping[str, bool | None], versions: Mapping[str, str], status: str
) -> dict[str, Any]:
    """The fields of a transcript before its ``steps``, in the order the JSON shows them."""
    return {
        "version": TRANSCRIPT_VERSION,
        "source": source,
        "mode": mode,
        "options": dict(options),
        "versions": dict(versions),
        "status": status,
    }
