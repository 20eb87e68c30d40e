"""The transcript as types: what :func:`sqlecho.trace` returns (described in docs/transcript.md).

A transcript is plain JSON-safe data; these ``TypedDict`` s name its fields for readers and type
checkers, and add nothing at run time. The contract fields are ``version``, ``source``, ``steps``
and, in each step, ``index`` to ``error``; the others are extensions that may grow within
version 1. This module imports nothing from sqlecho, SQLAlchemy or SQLModel.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "Database",
    "ErrorRecord",
    "Event",
    "EventKind",
    "ExerciseRecord",
    "Mode",
    "NamedSessionRecord",
    "ObjectRecord",
    "ObjectStateName",
    "SessionRecord",
    "Status",
    "Step",
    "TableRecord",
    "TamperedRecord",
    "Transcript",
]

EventKind = Literal[
    "begin", "commit", "rollback", "sql", "transition", "load", "expire", "refresh", "output", "exit"
]
"""Every ``kind`` an event can have."""
ObjectStateName = Literal["transient", "pending", "persistent", "deleted", "detached"]
"""An ORM object's state, as written in ``transition`` events and object records."""
Mode = Literal["cells", "lines"]
"""``cells``: one step per ``# %%`` code cell; ``lines``: one step per executed line."""
Status = Literal["ok", "error", "limit"]
"""How the run ended: to its end, by an error, or stopped by a sandbox limit."""


Event = TypedDict(
    "Event",
    {
        "kind": EventKind,
        "line": int | None,
        "statement": NotRequired[str],
        "parameters": NotRequired[list[Any]],
        "executemany": NotRequired[bool],
        "cause": NotRequired[str],
        "rowcount": NotRequired[int | None],
        "duration_ms": NotRequired[float],
        "batch": NotRequired[list[int]],
        "lock": NotRequired[str],
        "error": NotRequired[str],
        "object": NotRequired[str],
        "from": NotRequired[ObjectStateName],
        "to": NotRequired[ObjectStateName],
        "attributes": NotRequired[list[str]],
        "text": NotRequired[str],
        "stream": NotRequired[Literal["stderr"]],
        "code": NotRequired[int],
    },
)
"""One thing a step caused. ``kind`` and ``line`` are always there; the rest depends on ``kind``
(the functional form, because ``from`` is a keyword).

``cause`` (``sql`` events) is why the statement was sent: ``ddl``, ``query`` (an ORM select),
``get``, ``execute`` (a textual or Core statement), ``bulk update`` / ``bulk delete`` /
``bulk insert`` (ORM-enabled statements), ``event listener``, ``flush``, ``autoflush``,
``savepoint``, ``merge``, or one that names what it loads: ``lazy load Hero.team``,
``load expired Hero#1``, ``load expired Team#1 via Hero.team``, ``refresh Hero#1``,
``selectin load Team.heroes``... ``attributes`` of a ``refresh`` are those the row filled."""


class ErrorRecord(TypedDict):
    """The error a step raised (or the limit that stopped it)."""

    type: str
    message: str
    line: int | None
    expected: bool
    code: NotRequired[str]
    limit: NotRequired[str]
    caught: NotRequired[bool]


ObjectRecord = TypedDict(
    "ObjectRecord",
    {
        "label": str,
        "class": str,
        "names": list[str],
        "state": ObjectStateName,
        "identity": list[Any] | None,
        "values": dict[str, Any],
        "expired": list[str],
        "unloaded": NotRequired[list[str]],
        "session": NotRequired[str | None],
    },
)
"""An ORM object after a step (the functional form: ``class`` is a keyword)."""


class SessionRecord(TypedDict):
    """Labels of the objects the session the program used last tracks."""

    new: list[str]
    dirty: list[str]
    deleted: list[str]
    identity_map: list[str]


class NamedSessionRecord(SessionRecord):
    """One of the step's sessions: named by the program's variable (else its label)."""

    name: str
    label: str


class TableRecord(TypedDict):
    """The committed rows of one table, as another connection sees them."""

    columns: list[str]
    rows: list[list[Any]]
    total_rows: NotRequired[int]
    primary_key: NotRequired[list[str]]


class ExerciseRecord(TypedDict):
    """An exercise cell's check (docs/exercises.md), the hint shown after a failed check, and
    the task statement shown with the starter code."""

    check: str
    hint: str
    task: str


class Step(TypedDict):
    """One step: a code cell, or one executed line."""

    index: int
    title: str | None
    narrative: str
    lines: list[int]
    events: list[Event]
    objects: list[ObjectRecord]
    session: SessionRecord | None
    sessions: NotRequired[list[NamedSessionRecord]]
    variables: NotRequired[dict[str, str]]
    tables: dict[str, TableRecord]
    error: ErrorRecord | None
    notes: NotRequired[list[str]]
    after: NotRequired[str]
    exercise: NotRequired[ExerciseRecord]


class TamperedRecord(TypedDict):
    """Set by the sandbox's parent process, never by the traced process: the program reached
    into the tracer (imported sqlecho's modules, walked the garbage collector, used ctypes...),
    so the rest of the transcript may be what the program wanted it to say."""

    reason: str


class Database(TypedDict):
    """The server a run used instead of SQLite (absent from the header: SQLite, as written)."""

    name: Literal["postgresql"]
    version: str
    """The server's version, such as ``15.18``."""


class Transcript(TypedDict):
    """A whole run (version 1)."""

    version: int
    source: str
    mode: Mode
    options: dict[str, bool | None]
    versions: dict[str, str]
    status: Status
    database: NotRequired[Database]
    steps: list[Step]
    truncated: NotRequired[dict[str, Any]]
    internal_errors: NotRequired[list[str]]
    duration_ms: NotRequired[float]
    tampered: NotRequired[TamperedRecord]
