"""Strict checks of a transcript that came from outside: a worker's messages, a disk cache.

The traced program shares the worker's process, so whatever arrives on the result pipe may be
forged. Before the parent keeps a message, it checks it against the transcript's types
(:mod:`sqlecho.transcript`, ``docs/transcript.md``) and against what the tracer really emits:
the type of every field, line numbers within the source, known event kinds and object states,
and the sizes the tracer's own caps allow (:class:`Budget`). Free-form values (object values,
statement parameters, table cells) may be any JSON value, bounded in nesting depth and string
length.

The fields of every record, the event kinds, the object states, the modes and the statuses are
read from the ``TypedDict`` s and ``Literal`` s of :mod:`sqlecho.transcript`, so a field added
there is accepted here; what the types cannot say (which fields each event kind carries, that
the tracer always writes an object's ``unloaded`` and ``session``) is stated below beside them,
and tests/transcript/test_validate.py checks it against the types.

Nothing here recurses over the message, so a hostile nesting cannot raise RecursionError, and
every error is an :class:`InvalidMessage` whose text names the field in one plain sentence and
shows at most ~80 characters of the value. No ORM import: the parent need not import the ORM to
use it.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NotRequired, Protocol, cast, get_args, get_origin, get_type_hints

from ..transcript import (
    ErrorRecord,
    Event,
    EventKind,
    ExerciseRecord,
    Mode,
    NamedSessionRecord,
    ObjectRecord,
    SessionRecord,
    Status,
    Step,
    TableRecord,
    Transcript,
)
from .limits import LIMIT_KINDS
from .schema import MAX_EVENTS, MAX_ROWS, MAX_STEPS, OBJECT_STATES, SWITCH_NAMES, TRANSCRIPT_VERSION

__all__ = [
    "EVENT_FIELDS",
    "TRANSCRIPT_VERSION",
    "Budget",
    "InvalidMessage",
    "OverBudget",
    "check_done",
    "check_failed",
    "check_limit",
    "check_step",
    "fields_of",
    "source_line_count",
]

# The tracer's caps: TraceOptions' defaults (a run's own options give its Budget.for_options).
TRACER_MAX_STEPS = MAX_STEPS
TRACER_MAX_EVENTS = MAX_EVENTS
TRACER_MAX_ROWS = MAX_ROWS

STEP_SLACK = 8
"""Steps beyond ``max_steps``: the tracer's overflow step ("the rest of the run") and a step the
parent adds for a worker that died, with room to spare."""
EVENT_SLACK = 64
"""Events beyond ``max_events``, in case an event is ever recorded outside the tracer's count."""

_SHOWN = 80  # characters of a hostile value an error message may show


def fields_of(record: type) -> tuple[tuple[str, ...], frozenset[str]]:
    """(the required fields in the order declared, every field) of a ``TypedDict``.

    Read from the evaluated annotations: ``__required_keys__`` cannot see ``NotRequired`` in
    the string annotations that ``from __future__ import annotations`` makes.
    """
    hints = get_type_hints(record, include_extras=True)
    required = tuple(name for name, hint in hints.items() if get_origin(hint) is not NotRequired)
    return required, frozenset(hints)


_STATES = frozenset(OBJECT_STATES)
_STATUSES: tuple[str, ...] = get_args(Status)
_MODES: tuple[str, ...] = get_args(Mode)
_LIMIT_NAMES = frozenset(LIMIT_KINDS)

# Optional fields of a step are optional here too, so that transcripts of older versions and
# steps the parent rebuilt for a run that died (which know no variables) still read.
_STEP_REQUIRED, _STEP_KEYS = fields_of(Step)
_EXERCISE_KEYS = fields_of(ExerciseRecord)[0]
_STEP_USUAL = frozenset(_STEP_REQUIRED)
# The tracer writes every field of an object record, the optional ones too: a record without
# them was not written by the tracer.
_OBJECT_KEY_SET = fields_of(ObjectRecord)[1]
_OBJECT_KEYS = tuple(get_type_hints(ObjectRecord))
_SESSION_KEYS, _SESSION_KEY_SET = fields_of(SessionRecord)
_NAMED_SESSION_KEYS, _NAMED_SESSION_KEY_SET = fields_of(NamedSessionRecord)
MAX_SESSIONS_PER_STEP = 1000
"""Sessions one step can list (a program that opens more in one step is not one to read)."""
MAX_VARIABLES_PER_STEP = 20
"""Plain values one step shows (the tracer's cap)."""
MAX_VARIABLE_REPR = 64
"""Characters of one value's short repr (the tracer cuts at about 45)."""
_ERROR_REQUIRED, _ERROR_KEYS = fields_of(ErrorRecord)
_TABLE_REQUIRED, _TABLE_KEYS = fields_of(TableRecord)
_NO_FIELD_SET = frozenset(fields_of(Event)[0])  # kind and line: every event has them

EVENT_FIELDS: dict[EventKind, tuple[set[str], set[str], set[str]]] = {
    "begin": (set(), set(), set()),
    "commit": (set(), set(), set()),
    "rollback": (set(), set(), set()),
    "sql": (
        {"statement", "parameters", "executemany", "cause"},
        {"rowcount", "duration_ms", "batch", "lock", "error"},
        {"rowcount", "duration_ms"},
    ),
    "transition": ({"object", "from", "to"}, set(), set()),
    "load": ({"object"}, set(), set()),
    "expire": ({"object", "attributes"}, set(), set()),
    "refresh": ({"object"}, {"attributes"}, set()),
    "output": ({"text"}, {"stream"}, set()),
    "exit": ({"code"}, set(), set()),
}
"""Per event kind, as the tracer's recorders write them (docs/transcript.md, "Events"): (the
fields it always has besides ``kind`` and ``line``, those it may have, those it usually has).
One ``Event`` type holds the fields of every kind; which kind has which is stated here."""


def _shape(required: set[str], optional: set[str], usual: set[str]) -> tuple[frozenset[str], ...]:
    """(the usual keys, the required keys, the allowed keys) of an event."""
    needed = _NO_FIELD_SET | required
    return frozenset(needed | usual), needed if required else _NO_FIELD_SET, frozenset(needed | optional)


_EVENT_SHAPES: dict[str, tuple[frozenset[str], ...]] = {
    kind: _shape(*fields) for kind, fields in EVENT_FIELDS.items()
}
# What a worker sends at the end: the transcript's fields with "steps" as a count, and the
# duration, which the tracer always measures.
_DONE_REQUIRED = (*fields_of(Transcript)[0], "duration_ms")
PARENT_FIELDS = frozenset({"tampered"})
"""Fields only the parent writes, from what it saw itself: a worker that sends one is refused."""
_DONE_KEYS = fields_of(Transcript)[1] - PARENT_FIELDS
_PLAIN = frozenset({str, int, bool, type(None)})  # JSON scalars that need no further look
_STR_ONLY = {str}


class InvalidMessage(ValueError):
    """A message from the worker that the parent must not accept; the text names the field."""


class OverBudget(InvalidMessage):
    """A well-formed message that goes past what a real run can produce (see :class:`Budget`)."""


class _Options(Protocol):
    """What :meth:`Budget.for_options` reads of a ``TraceOptions``."""

    @property
    def max_steps(self) -> int: ...
    @property
    def max_events(self) -> int: ...
    @property
    def max_rows(self) -> int: ...


@dataclass
class Budget:
    """The sizes a real run can reach, and what one run has used of them so far.

    The caps follow the tracer's own (``TraceOptions.max_steps``, ``max_events``, ``max_rows``),
    with a little slack; use :meth:`for_options` with the run's options. One Budget per run:
    :func:`check_step` counts every step it accepts. Total bytes are the reader's business
    (``Limits.output``).
    """

    max_steps: int = TRACER_MAX_STEPS + STEP_SLACK
    """Steps in the run: the tracer stops stepping at ``max_steps`` and adds one last step."""
    max_events: int = TRACER_MAX_EVENTS + EVENT_SLACK
    """Events in the whole run: the tracer keeps ``max_events`` and only counts the rest."""
    max_events_per_step: int = TRACER_MAX_EVENTS + EVENT_SLACK
    """Events in one step: all of the run's may fall into one step."""
    max_objects_per_step: int = 20_000
    """ORM objects alive after one step (the tracer has no cap of its own on this)."""
    max_tables_per_step: int = 1000
    """Tables in one step's database snapshot."""
    max_rows_per_table: int = TRACER_MAX_ROWS
    """Rows in one table of a snapshot: the tracer keeps ``max_rows`` (``total_rows`` says more)."""
    max_columns: int = 2000
    """Columns of one table (SQLite's own default limit, ``SQLITE_MAX_COLUMN``)."""
    max_string: int = 1024 * 1024
    """Characters of any one string (the tracer cuts output at 200,000 and values at ~500)."""
    max_depth: int = 20
    """Nesting of lists and dicts in a free-form value (object value, parameters, table cell)."""
    max_values_per_line: int = 400_000
    """Values in one message line (``{``, ``[`` and ``,``: each object, array and item), counted
    before it is parsed: a line of a million tiny values costs the server far more memory to
    parse and keep than its bytes suggest (an empty list takes 56 bytes for 3 bytes of JSON)."""
    value_bytes: int = 12
    """With ``Limits.output``, the values of a whole run: one per this many bytes of output
    (lessons hold one per 13 bytes; the tiny steps of a line-by-line run one per 11), which
    bounds what the server holds to a few times the output limit. A run over it, or a line over
    ``max_values_per_line``, stops at the output limit."""
    steps: int = field(default=0, init=False)
    """Steps accepted so far."""
    events: int = field(default=0, init=False)
    """Events accepted so far, over all steps."""
    _last_objects: list[object] = field(default_factory=list, init=False, repr=False)
    _last_tables: dict[str, object] = field(default_factory=dict, init=False, repr=False)
    _last_session: dict[str, object] | None = field(default=None, init=False, repr=False)
    _last_sessions: list[object] = field(default_factory=list, init=False, repr=False)
    """The objects, tables and session of the last accepted step. Most records come again unchanged in the
    next step, and one equal (as JSON values) to an accepted record is valid too: comparing them
    (in C) is much cheaper than checking them again."""

    @classmethod
    def for_options(cls, options: _Options) -> Budget:
        """The budget of a run traced with ``options`` (a ``TraceOptions``)."""
        return cls(
            max_steps=options.max_steps + STEP_SLACK,
            max_events=options.max_events + EVENT_SLACK,
            max_events_per_step=options.max_events + EVENT_SLACK,
            max_rows_per_table=options.max_rows,
        )

    def _take(self, events: int) -> None:
        """Count one more step with ``events`` events, or raise OverBudget without counting."""
        if self.steps + 1 > self.max_steps:
            raise OverBudget(f"More steps than a run can have (at most {self.max_steps}).")
        if self.events + events > self.max_events:
            raise OverBudget(
                f"More events than a run can have: {self.events} so far and {events} in this step "
                f"(at most {self.max_events})."
            )
        self.steps += 1
        self.events += events


def source_line_count(source: str) -> int:
    """The highest line number a step of ``source`` may mention: lines as Python counts them
    (``\\n``, ``\\r\\n``, ``\\r``) or as the cell parser does (``str.splitlines``), at least 1."""
    python = source.replace("\r\n", "\n").replace("\r", "\n")
    return max(1, len(source.splitlines()), python.count("\n") + (not python.endswith("\n")))


# -- errors ------------------------------------------------------------------------------------


class _Wrong(Exception):
    """A field is wrong: ``path`` grows as the error leaves nested checks."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path
        self.problem = problem

    def under(self, parent: str) -> _Wrong:
        sep = "" if self.path.startswith("[") or not self.path else "."
        self.path = f"{parent}{sep}{self.path}"
        return self


def _show(value: object) -> str:
    """A short, safe description of a hostile value (never its whole text, never recursive)."""
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if isinstance(value, int):
        if value.bit_length() > 128:
            return f"an integer of {value.bit_length()} bits"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if len(value) <= _SHOWN - 2:
            return repr(value)
        return f"{value[: _SHOWN - 20]!r}... ({len(value)} characters)"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return f"an object with {len(value)} fields"
    return f"a {type(value).__name__}"


def _bad(path: str, value: object, expected: str) -> _Wrong:
    return _Wrong(path, f"is {_show(value)}, expected {expected}")


def _message(what: str, wrong: _Wrong) -> str:
    field_name = f" {wrong.path}" if wrong.path else ""
    return f"{what}:{field_name} {wrong.problem}."


# -- small checks ------------------------------------------------------------------------------


def _str(value: object, path: str, budget: Budget) -> str:
    if type(value) is not str:
        raise _bad(path, value, "a string")
    if len(value) > budget.max_string:
        raise _Wrong(path, f"is a string of {len(value)} characters (at most {budget.max_string})")
    return value


def _int(value: object, path: str) -> int:
    if type(value) is not int:
        raise _bad(path, value, "an integer")
    return value


def _bool(value: object, path: str) -> bool:
    if type(value) is not bool:
        raise _bad(path, value, "true or false")
    return value


def _number(value: object, path: str) -> None:
    kind = type(value)
    if kind is int:
        return
    if kind is not float or not math.isfinite(value):  # type: ignore[arg-type]
        raise _bad(path, value, "a number")


def _str_list(value: object, path: str, budget: Budget) -> list[str]:
    if type(value) is not list:
        raise _bad(path, value, "a list of strings")
    longest = budget.max_string
    for position, item in enumerate(value):
        if type(item) is not str or len(item) > longest:
            _str(item, f"{path}[{position}]", budget)
    return value


def _line(value: object, path: str, source_lines: int) -> None:
    """None, or a line of the source."""
    if value is None:
        return
    if type(value) is not int:
        raise _bad(path, value, "a line number or null")
    if not 1 <= value <= source_lines:
        raise _Wrong(path, f"is {_show(value)}, outside the source's lines 1..{source_lines}")


def _keys(
    value: dict[str, object], required: tuple[str, ...] | frozenset[str], allowed: frozenset[str]
) -> None:
    for key in required:
        if key not in value:
            raise _Wrong(key, "is missing")
    if len(value) > len(allowed) or not allowed.issuperset(value):
        unknown = next((key for key in value if key not in allowed), None)
        raise _Wrong("", f"has an unknown field {_show(unknown)}")


def _dict(value: object, path: str, what: str) -> dict[str, object]:
    if type(value) is not dict:
        raise _bad(path, value, what)
    return value


def _plain(items: Collection[object], longest: int) -> bool:
    """True when ``items`` are all strings within ``longest``, integers, booleans or nulls (then
    they need no further look); False means look closer, not wrong."""
    kinds = set(map(type, items))
    if not kinds <= _PLAIN:
        return False
    if str not in kinds:
        return True
    for item in items:
        if type(item) is str and len(item) > longest:
            return False
    return True


def _free(value: object, path: str, budget: Budget, inside: int = 0) -> None:
    """object JSON value, nested at most ``budget.max_depth`` deep, strings within ``max_string``.

    ``inside``: levels of ``value`` that are the schema's, not the free-form value's (a table's
    rows are 2: the list of rows and each row), so they do not count in the depth.
    """
    kind = type(value)
    if kind is not list and kind is not dict:
        _free_scalar(value, path, budget)
        return
    longest, deepest = budget.max_string, budget.max_depth
    # Walk with an explicit stack: a hostile nesting must not exhaust Python's recursion.
    stack: list[tuple[object, int]] = [(value, -inside)]
    while stack:
        item, depth = stack.pop()
        if depth >= deepest:
            raise _Wrong(path, f"is nested more than {deepest} deep")
        children: Collection[object]
        if type(item) is dict:
            if item and (set(map(type, item)) != _STR_ONLY or max(map(len, item)) > longest):
                key = next(k for k in item if type(k) is not str or len(k) > longest)
                raise _Wrong(path, f"has a key {_show(key)} that is not a string within limits")
            children = item.values()
        else:
            children = item  # type: ignore[assignment]
        kinds = set(map(type, children))
        if kinds <= _PLAIN:  # scalars only: the common case, e.g. a table row
            if str in kinds:
                for child in children:
                    if type(child) is str and len(child) > longest:
                        _str(child, path, budget)
            continue
        depth += 1
        for child in children:
            kind = type(child)
            if kind is list or kind is dict:
                stack.append((child, depth))
            else:
                _free_scalar(child, path, budget)


def _free_scalar(value: object, path: str, budget: Budget) -> None:
    kind = type(value)
    if kind is str:
        if len(value) > budget.max_string:  # type: ignore[arg-type]
            _str(value, path, budget)
    elif kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise _Wrong(path, f"holds {_show(value)}, which is not a JSON number")
    elif not (kind is int or kind is bool or value is None):
        raise _Wrong(path, f"holds {_show(value)}, which is not a JSON value")


# -- steps -------------------------------------------------------------------------------------


def check_step(value: object, *, index: int, source_lines: int, budget: Budget) -> dict[str, object]:
    """The streamed step ``value`` if it is one the tracer could have sent, else InvalidMessage.

    Args:
        value: the ``STEP`` of a ``{"step": STEP}`` message, as JSON-decoded.
        index: the index this step must have (steps arrive in order: the number received so far).
        source_lines: the number of lines of the traced source (:func:`source_line_count`).
        budget: the run's budget; an accepted step is counted in it, a rejected one is not.

    Returns:
        ``value`` itself, unchanged.
    """
    if type(value) is not dict:
        raise InvalidMessage(f"Step {index}: is {_show(value)}, expected an object.")
    try:
        _check_step(value, index, source_lines, budget)
    except _Wrong as wrong:
        raise InvalidMessage(_message(f"Step {index}", wrong)) from None
    budget._take(len(value["events"]))
    budget._last_objects = value["objects"]
    budget._last_tables = value["tables"]
    budget._last_session = value["session"]
    budget._last_sessions = value.get("sessions", [])
    return value


def _check_step(step: dict[str, object], index: int, source_lines: int, budget: Budget) -> None:
    keys = step.keys()
    if keys != _STEP_USUAL and keys != _STEP_KEYS:
        _keys(step, _STEP_REQUIRED, _STEP_KEYS)
    if step["index"] != index or type(step["index"]) is not int:
        raise _bad("index", step["index"], f"{index} (steps arrive in order)")
    if budget.steps >= budget.max_steps:
        raise OverBudget(f"Step {index}: more steps than a run can have (at most {budget.max_steps}).")
    title, narrative, longest = step["title"], step["narrative"], budget.max_string
    if title is not None and (type(title) is not str or len(title) > longest):
        _str(title, "title", budget)
    if type(narrative) is not str or len(narrative) > longest:
        _str(narrative, "narrative", budget)
    lines = step["lines"]
    if type(lines) is not list or len(lines) != 2 or not _lines_ok(lines, source_lines):
        _lines(lines, source_lines)
    _events(step["events"], index, source_lines, budget)
    _objects(step["objects"], index, budget)
    _session(step["session"], budget)
    if "sessions" in step:
        _sessions(step["sessions"], budget)
    if "variables" in step:
        _variables(step["variables"], budget)
    _tables(step["tables"], index, budget)
    if step["error"] is not None:
        try:
            _error(step["error"], source_lines, budget)
        except _Wrong as wrong:
            raise wrong.under("error") from None
    if "notes" in step:
        _str_list(step["notes"], "notes", budget)
    if "after" in step:
        _str(step["after"], "after", budget)
    if "exercise" in step:
        exercise = _dict(step["exercise"], "exercise", "an exercise record")
        _keys_at(exercise, _EXERCISE_KEYS, frozenset(_EXERCISE_KEYS), "exercise")
        for key in _EXERCISE_KEYS:
            _str(exercise[key], f"exercise.{key}", budget)


def _lines_ok(lines: list[object], source_lines: int) -> bool:
    first, last = lines
    return type(first) is int and type(last) is int and 1 <= first <= last <= source_lines


def _lines(lines: object, source_lines: int) -> None:
    if type(lines) is not list or len(lines) != 2:
        raise _bad("lines", lines, "[first, last]")
    first, last = lines
    if type(first) is not int or type(last) is not int:
        raise _bad("lines", lines, "two line numbers")
    if not 1 <= first <= last <= source_lines:
        raise _Wrong(
            "lines",
            f"are [{_show(first)}, {_show(last)}], expected 1 <= first <= last <= {source_lines} "
            "(the source's lines)",
        )


def _events(events: object, index: int, source_lines: int, budget: Budget) -> None:
    if type(events) is not list:
        raise _bad("events", events, "a list")
    count = len(events)
    if count > budget.max_events_per_step:
        raise OverBudget(
            f"Step {index}: {count} events, more than one step can have (at most {budget.max_events_per_step})."
        )
    if budget.events + count > budget.max_events:
        raise OverBudget(
            f"Step {index}: {count} events after {budget.events}, more than a run can have "
            f"(at most {budget.max_events})."
        )
    for position, event in enumerate(events):
        try:
            _event(event, source_lines, budget)
        except _Wrong as wrong:
            raise wrong.under(f"events[{position}]") from None


def _event(event: object, source_lines: int, budget: Budget) -> None:
    if type(event) is not dict:
        raise _bad("", event, "an event object")
    kind = event.get("kind")
    shape = _EVENT_SHAPES.get(kind) if type(kind) is str else None
    if shape is None:
        raise _bad("kind", kind, "a known event kind")
    usual, required, allowed = shape
    if event.keys() != usual and (not required <= event.keys() or not event.keys() <= allowed):
        missing = next((key for key in sorted(required) if key not in event), None)
        if missing is not None:
            raise _Wrong(missing, "is missing")
        unknown = next(key for key in event if key not in allowed)
        raise _Wrong("", f"has an unknown field {_show(unknown)} for a {kind} event")
    line = event["line"]
    if line is not None and (type(line) is not int or not 1 <= line <= source_lines):
        _line(line, "line", source_lines)
    if kind == "sql":
        text = event["statement"]
        if type(text) is not str or len(text) > budget.max_string:
            _str(text, "statement", budget)
        parameters = event["parameters"]
        if type(parameters) is not list or not _plain(parameters, budget.max_string):
            _free(parameters, "parameters", budget)
        if type(event["executemany"]) is not bool:
            _bool(event["executemany"], "executemany")
        text = event["cause"]
        if type(text) is not str or len(text) > budget.max_string:
            _str(text, "cause", budget)
        rowcount, duration = event.get("rowcount"), event.get("duration_ms", 0)
        if type(rowcount) is not int and rowcount is not None:
            _int(rowcount, "rowcount")
        if type(duration) is not int and (type(duration) is not float or not math.isfinite(duration)):
            _number(duration, "duration_ms")
        if len(event) > 8 or "rowcount" not in event:
            _sql_extras(event, budget)
    elif kind == "transition":
        text = event["object"]
        if type(text) is not str or len(text) > budget.max_string:
            _str(text, "object", budget)
        for key in ("from", "to"):
            if type(event[key]) is not str or event[key] not in _STATES:
                raise _bad(key, event[key], "an object state")
    elif kind == "output":
        text = event["text"]
        if type(text) is not str or len(text) > budget.max_string:
            _str(text, "text", budget)
        if "stream" in event and (type(event["stream"]) is not str or event["stream"] != "stderr"):
            raise _bad("stream", event["stream"], '"stderr"')
    elif kind == "exit":
        _int(event["code"], "code")
    elif required is not _NO_FIELD_SET:  # load, expire, refresh
        text = event["object"]
        if type(text) is not str or len(text) > budget.max_string:
            _str(text, "object", budget)
        if "attributes" in event:
            _str_list(event["attributes"], "attributes", budget)


def _sql_extras(event: dict[str, object], budget: Budget) -> None:
    """The optional fields of a "sql" event."""
    if "rowcount" in event and event["rowcount"] is not None:
        _int(event["rowcount"], "rowcount")
    if "duration_ms" in event:
        _number(event["duration_ms"], "duration_ms")
    if "batch" in event:
        batch = event["batch"]
        if type(batch) is not list or len(batch) != 2 or any(type(n) is not int for n in batch):
            raise _bad("batch", batch, "[number, total]")
    if "error" in event:
        _str(event["error"], "error", budget)
    if "lock" in event:
        _str(event["lock"], "lock", budget)


def _objects(objects: object, index: int, budget: Budget) -> None:
    if type(objects) is not list:
        raise _bad("objects", objects, "a list")
    if len(objects) > budget.max_objects_per_step:
        raise OverBudget(
            f"Step {index}: {len(objects)} objects, more than one step can have "
            f"(at most {budget.max_objects_per_step})."
        )
    previous = budget._last_objects
    if objects == previous:
        return
    known = len(previous)
    for position, record in enumerate(objects):
        if position < known and record == previous[position]:
            continue
        try:
            _object(record, budget)
        except _Wrong as wrong:
            raise wrong.under(f"objects[{position}]") from None


def _object(record: object, budget: Budget) -> None:
    if type(record) is not dict:
        raise _bad("", record, "an object record")
    if record.keys() != _OBJECT_KEY_SET:
        _keys(record, _OBJECT_KEYS, _OBJECT_KEY_SET)
    longest = budget.max_string
    label, name, state = record["label"], record["class"], record["state"]
    if type(label) is not str or type(name) is not str or len(label) > longest or len(name) > longest:
        _str(label, "label", budget)
        _str(name, "class", budget)
    if type(state) is not str or state not in _STATES:
        raise _bad("state", state, "an object state")
    session = record["session"]
    if session is not None and (type(session) is not str or len(session) > longest):
        raise _bad("session", session, "a session name or null")
    for key in ("names", "expired", "unloaded"):
        names = record[key]
        if type(names) is not list or names:
            _str_list(names, key, budget)
    identity = record["identity"]
    if identity is not None:
        if type(identity) is not list:
            raise _bad("identity", identity, "a list or null")
        if not _plain(identity, longest):
            _free(identity, "identity", budget)
    values = record["values"]
    if type(values) is not dict:
        raise _bad("values", values, "an object")
    if values and not (_plain(values.values(), longest) and _short_keys(values, longest)):
        _free(values, "values", budget, inside=1)


def _short_keys(mapping: dict[object, object], longest: int) -> bool:
    """True when the keys of ``mapping`` are strings within ``longest`` (False: look closer)."""
    if set(map(type, mapping)) != _STR_ONLY:
        return False
    return max(map(len, cast("dict[str, object]", mapping))) <= longest


def _session(session: object, budget: Budget) -> None:
    if session is None:
        return
    session = _dict(session, "session", "an object or null")
    if session == budget._last_session:
        return
    if session.keys() != _SESSION_KEY_SET:
        _keys_at(session, _SESSION_KEYS, _SESSION_KEY_SET, "session")
    for key in _SESSION_KEYS:
        labels = session[key]
        if type(labels) is not list or labels:
            _str_list(labels, f"session.{key}", budget)


def _sessions(sessions: object, budget: Budget) -> None:
    if type(sessions) is not list:
        raise _bad("sessions", sessions, "a list")
    if sessions == budget._last_sessions:
        return
    if len(sessions) > MAX_SESSIONS_PER_STEP:
        raise _bad("sessions", sessions, f"at most {MAX_SESSIONS_PER_STEP} sessions")
    for position, session in enumerate(sessions):
        path = f"sessions[{position}]"
        session = _dict(session, path, "an object")
        if session.keys() != _NAMED_SESSION_KEY_SET:
            _keys_at(session, _NAMED_SESSION_KEYS, _NAMED_SESSION_KEY_SET, path)
        for key in ("name", "label"):
            _str(session[key], f"{path}.{key}", budget)
        for key in _SESSION_KEYS:
            _str_list(session[key], f"{path}.{key}", budget)


def _variables(variables: object, budget: Budget) -> None:
    variables = _dict(variables, "variables", "an object")
    if len(variables) > MAX_VARIABLES_PER_STEP:
        raise _bad("variables", variables, f"at most {MAX_VARIABLES_PER_STEP} values")
    for name, text in variables.items():
        _str(name, "variables", budget)
        if type(text) is not str or len(text) > MAX_VARIABLE_REPR:
            raise _bad(f"variables.{name}", text, f"a short text (at most {MAX_VARIABLE_REPR} characters)")


def _tables(tables: object, index: int, budget: Budget) -> None:
    tables = _dict(tables, "tables", "an object")
    if len(tables) > budget.max_tables_per_step:
        raise OverBudget(
            f"Step {index}: {len(tables)} tables, more than one step can have "
            f"(at most {budget.max_tables_per_step})."
        )
    previous = budget._last_tables
    for name, table in tables.items():
        try:
            if type(name) is not str or len(name) > budget.max_string:
                raise _Wrong("", "is not a table name within limits")
            if type(table) is dict and table == previous.get(name):
                if "total_rows" in table:  # True == 1: types are not part of equality
                    _int(table["total_rows"], "total_rows")
                continue
            _table(table, budget)
        except _Wrong as wrong:
            raise wrong.under(f"tables[{_show(name)}]") from None
        except OverBudget as over:
            raise OverBudget(f"Step {index}: table {_show(name)} {over}") from None


def _table(table: object, budget: Budget) -> None:
    table = _dict(table, "", "an object")
    _keys(table, _TABLE_REQUIRED, _TABLE_KEYS)
    columns = _str_list(table["columns"], "columns", budget)
    if len(columns) > budget.max_columns:
        raise _Wrong("columns", f"has {len(columns)} columns (at most {budget.max_columns})")
    rows = table["rows"]
    if type(rows) is not list:
        raise _bad("rows", rows, "a list of rows")
    if len(rows) > budget.max_rows_per_table:
        raise OverBudget(
            f"has {len(rows)} rows, more than a snapshot keeps (at most {budget.max_rows_per_table})."
        )
    width = len(columns)
    for position, row in enumerate(rows):
        if type(row) is not list or len(row) != width:
            raise _bad(f"rows[{position}]", row, f"a list of {width} cells")
    if rows:
        _free(rows, "rows", budget, inside=2)
    if "primary_key" in table:
        key = _str_list(table["primary_key"], "primary_key", budget)
        if not key or not set(key) <= set(columns):
            raise _bad("primary_key", key, "some of the table's columns")
    if "total_rows" in table:
        total = _int(table["total_rows"], "total_rows")
        if total < len(rows):
            raise _Wrong("total_rows", f"is {total}, fewer than the {len(rows)} rows shown")


def _keys_at(value: dict[str, object], required: tuple[str, ...], allowed: frozenset[str], path: str) -> None:
    try:
        _keys(value, required, allowed)
    except _Wrong as wrong:
        raise wrong.under(path) from None


def _error(error: object, source_lines: int, budget: Budget) -> None:
    error = _dict(error, "", "an error record or null")
    _keys(error, _ERROR_REQUIRED, _ERROR_KEYS)
    _str(error["type"], "type", budget)
    _str(error["message"], "message", budget)
    _line(error["line"], "line", source_lines)
    _bool(error["expected"], "expected")
    if "code" in error:
        _str(error["code"], "code", budget)
    if "limit" in error and (type(error["limit"]) is not str or error["limit"] not in _LIMIT_NAMES):
        raise _bad("limit", error["limit"], "the name of a limit")
    if "caught" in error:
        _bool(error["caught"], "caught")


# -- the other messages ------------------------------------------------------------------------


def check_done(value: object, *, steps_received: int) -> dict[str, object]:
    """The end of a transcript (``{"done": TRANSCRIPT}``, its "steps" the number of steps sent).

    Args:
        value: the ``TRANSCRIPT`` as JSON-decoded.
        steps_received: how many steps the parent accepted; "steps" must say the same.

    Returns:
        ``value`` itself, unchanged.
    """
    if type(value) is not dict:
        raise InvalidMessage(f"The end of the transcript is {_show(value)}, expected an object.")
    try:
        _check_done(value, steps_received)
    except _Wrong as wrong:
        raise InvalidMessage(_message("The end of the transcript", wrong)) from None
    return value


def _check_done(done: dict[str, object], steps_received: int) -> None:
    _keys(done, _DONE_REQUIRED, _DONE_KEYS)
    budget = Budget()
    if done["version"] != TRANSCRIPT_VERSION or type(done["version"]) is not int:
        raise _bad("version", done["version"], str(TRANSCRIPT_VERSION))
    _str(done["source"], "source", budget)
    if done["mode"] not in _MODES or type(done["mode"]) is not str:
        raise _bad("mode", done["mode"], '"cells" or "lines"')
    options = _dict(done["options"], "options", "an object")
    _keys_at(options, SWITCH_NAMES, frozenset(SWITCH_NAMES), "options")
    for key in SWITCH_NAMES:
        if options[key] is not None:
            _bool(options[key], f"options.{key}")
    versions = _dict(done["versions"], "versions", "an object")
    if len(versions) > 16:
        raise _Wrong("versions", f"has {len(versions)} fields (at most 16)")
    for key, version in versions.items():
        _str(key, "versions", budget)
        _str(version, f"versions[{_show(key)}]", budget)
    if done["status"] not in _STATUSES or type(done["status"]) is not str:
        raise _bad("status", done["status"], '"ok", "error" or "limit"')
    steps = _int(done["steps"], "steps")
    if steps != steps_received:
        raise _Wrong("steps", f"is {_show(steps)}, but {steps_received} steps were received")
    _number(done["duration_ms"], "duration_ms")
    if "database" in done:
        database = _dict(done["database"], "database", "an object")
        _keys_at(database, ("name", "version"), frozenset({"name", "version"}), "database")
        if database["name"] != "postgresql":
            raise _bad("database.name", database["name"], '"postgresql"')
        _str(database["version"], "database.version", budget)
    if "truncated" in done:
        _truncated(done["truncated"])
    if "internal_errors" in done:
        errors = _str_list(done["internal_errors"], "internal_errors", budget)
        if len(errors) > TRACER_MAX_EVENTS:
            raise _Wrong("internal_errors", f"has {len(errors)} items")


def _truncated(truncated: object) -> None:
    """``{"steps": N, "events_dropped": N, "output": true}``, any of them (the tracer's record)."""
    truncated = _dict(truncated, "truncated", "an object")
    _keys_at(truncated, (), frozenset({"steps", "events_dropped", "output"}), "truncated")
    for key in ("steps", "events_dropped"):
        if key in truncated and _int(truncated[key], f"truncated.{key}") < 0:
            raise _bad(f"truncated.{key}", truncated[key], "a count")
    if "output" in truncated and truncated["output"] is not True:
        raise _bad("truncated.output", truncated["output"], "true")


def check_failed(value: object) -> dict[str, object]:
    """The worker's report of an error outside the program (``{"failed": ERROR}``):
    ``{"type", "message"}`` and, from a run, ``"limit"``: a limit name or null."""
    budget = Budget()
    try:
        failed = _dict(value, "", "an object")
        _keys(failed, ("type", "message"), frozenset({"type", "message", "limit"}))
        _str(failed["type"], "type", budget)
        _str(failed["message"], "message", budget)
        limit = failed.get("limit")
        if limit is not None and (type(limit) is not str or limit not in _LIMIT_NAMES):
            raise _bad("limit", limit, "the name of a limit or null")
    except _Wrong as wrong:
        raise InvalidMessage(_message("The failure report", wrong)) from None
    return failed


def check_limit(value: object) -> str:
    """The name in a ``{"limit": NAME}`` notice: one of the fields of :class:`~sqlecho._limits.Limits`."""
    if type(value) is not str or value not in _LIMIT_NAMES:
        raise InvalidMessage(f"The limit notice: is {_show(value)}, expected the name of a limit.")
    return value
