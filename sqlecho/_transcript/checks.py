"""Checks and claims: a small language of facts about one step's transcript (docs/exercises.md).

The same clauses are an exercise's check (in a cell header) and a lesson's prediction (an
``Expect:`` line of the narrative), written as data, never code::

    select <= 2; lazy_load == 0; prints 'Ada: 2'; raises nothing; state Book#1 detached
    value Book#2.copies == 5; expired Book#1 title, year; loaded Book#1 id
    row book id=2 copies == 5; rows book == 3; sql contains 'FOR UPDATE'; changed == 1
    line select == 42; line select == 'print(author.books)'; object again == Book#1; no SQL

:func:`parse_clauses` reads clauses (:class:`CheckSyntaxError` names the bad one);
:func:`parse_check` also insists that an exercise's check says something about what the code
did (a check of only ``prints`` and upper bounds passes on a cell that prints the expected text
and sends nothing). :func:`evaluate` measures clauses against a step, saying for each what was
measured and which lines of the program sent what it counted. The app, ``python -m sqlecho
check``, the lesson tests and the predictions share this module; it imports nothing of the ORM.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..transcript import Event, ObjectRecord, Step
from .counting import caused, changed_rows, statements, transaction_verb
from .schema import OBJECT_STATES

__all__ = [
    "COUNTERS",
    "STATES",
    "CheckSyntaxError",
    "Clause",
    "ClauseResult",
    "evaluate",
    "literal_text",
    "parse_check",
    "parse_clauses",
]

STATES = OBJECT_STATES
"""The five states of an ORM object, in the order of its life (those of the transcript's types)."""

_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}
_COUNT = re.compile(r"^(?P<counter>[a-z_]+)\s*(?P<op>==|<=|>=|<|>)\s*(?P<number>\S+)$")
_NAME = re.compile(r"^[A-Za-z_][\w.]*$")
_LABEL = re.compile(r"^[A-Za-z_]\w*#\d+$")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
_VALUE = re.compile(r"^(?P<label>[A-Za-z_]\w*#\d+)\.(?P<attribute>[A-Za-z_]\w*)\s*==\s*(?P<literal>.+)$")
_ROW = re.compile(
    r"^(?P<table>[A-Za-z_]\w*)\s+(?P<key>[A-Za-z_]\w*)=(?P<id>\S+)\s+(?P<column>[A-Za-z_]\w*)\s*==\s*(?P<literal>.+)$"
)
_ROWS = re.compile(r"^(?P<table>[A-Za-z_]\w*)\s*(?P<op>==|<=|>=|<|>)\s*(?P<number>\d+)$")
_LINE = re.compile(r"^(?P<kind>[a-z]+)\s*==\s*(?P<where>.+)$")
_OBJECT = re.compile(r"^(?P<name>[A-Za-z_][\w\[\].]*)\s*==\s*(?P<label>\S+)$")
_LINE_KINDS = ("sql", "select", "insert", "update", "delete")

Events = list[Event]
Selector = Callable[[Events], Events]


def _kind(kind: str | None) -> Selector:
    return lambda events: statements(events, kind)


def _transaction(verb: str) -> Selector:
    return lambda events: [event for event in events if transaction_verb(event) == verb]


def _caused(prefix: str, *, exact: bool = False) -> Selector:
    return lambda events: caused(events, prefix, exact=exact)


COUNTERS: dict[str, tuple[Selector, str, str]] = {
    # name: (the events a step's count is made of, singular, plural) for "what was measured"
    "sql": (_kind(None), "statement", "statements"),
    "select": (_kind("select"), "SELECT", "SELECTs"),
    "insert": (_kind("insert"), "INSERT", "INSERTs"),
    "update": (_kind("update"), "UPDATE", "UPDATEs"),
    "delete": (_kind("delete"), "DELETE", "DELETEs"),
    "begin": (_transaction("begin"), "BEGIN", "BEGINs"),
    "commit": (_transaction("commit"), "COMMIT", "COMMITs"),
    "rollback": (_transaction("rollback"), "ROLLBACK", "ROLLBACKs"),
    # By cause: "flush" and "autoflush" are exact; the others carry the attribute or object.
    "flush": (_caused("flush", exact=True), "statement sent by a flush", "statements sent by a flush"),
    "autoflush": (
        _caused("autoflush", exact=True),
        "statement sent by autoflush",
        "statements sent by autoflush",
    ),
    "lazy_load": (_caused("lazy load"), "lazy load", "lazy loads"),
    "load_expired": (_caused("load expired"), "load of expired attributes", "loads of expired attributes"),
    "refresh": (_caused("refresh"), "refresh", "refreshes"),
    "ddl": (_caused("ddl", exact=True), "DDL statement", "DDL statements"),
}
"""Every counter a check may name (``COUNTER OP N``), and ``changed`` (rows written)."""

_CHANGED = "changed"


class CheckSyntaxError(ValueError):
    """A check that does not follow the syntax; ``clause`` is the offending clause as written."""

    def __init__(self, clause: str, reason: str) -> None:
        super().__init__(f"bad clause {clause!r}: {reason}")
        self.clause = clause
        self.reason = reason


@dataclass(frozen=True)
class Clause:
    """One clause of a check or a prediction, parsed."""

    text: str
    """The clause as written (spaces around it removed)."""
    kind: str
    """``count``, ``prints``, ``raises``, ``state``, ``value``, ``expired``, ``loaded``, ``row``,
    ``rows``, ``sql``, ``line``, ``object`` or ``no_sql``."""
    counter: str = ""
    """For ``count``: the counter's name (``changed``: rows written); for ``line``: the statement kind."""
    operator: str = ""
    """For ``count`` and ``rows``: one of ``== <= >= < >``."""
    number: int = 0
    """For ``count`` and ``rows``: the number compared with; for ``line``: the line (0: given as text)."""
    argument: str = ""
    """The text of ``prints`` and ``sql contains``, the error name of ``raises`` (``nothing``:
    none), the label of ``state``/``value``/``expired``/``loaded``/``object``, the table of
    ``row``/``rows``, the code of ``line ... == 'code'``, the variable of ``object``."""
    state: str = ""
    """For ``state``: the state the object must be in."""
    attribute: str = ""
    """For ``value``: the attribute; for ``row``: the column compared."""
    attributes: tuple[str, ...] = ()
    """For ``expired``/``loaded``: the attributes named."""
    literal: str = ""
    """For ``value`` and ``row``: the expected value as written (a Python literal)."""
    key: tuple[str, str] = ("", "")
    """For ``row``: the column and the literal that pick the row (``id=2``)."""

    @property
    def bounded_above(self) -> bool:
        """True for a clause that a cell sending nothing and printing anything would pass."""
        if self.kind == "prints" or (self.kind == "raises" and self.argument == "nothing"):
            return True
        return self.kind == "count" and (
            self.operator in ("<=", "<") or (self.operator == "==" and self.number == 0)
        )


@dataclass(frozen=True)
class ClauseResult:
    """A clause measured against a step."""

    clause: Clause
    passed: bool
    measured: str
    """What the step did, in words (``5 SELECTs``, ``Book#1 is persistent``)."""
    lines: tuple[int, ...] = ()
    """The program's lines that sent what was measured (statements counted, the print, the change)."""

    def __str__(self) -> str:
        where = ""
        if self.lines:
            where = f" (line{'s' * (len(self.lines) > 1)} {', '.join(map(str, self.lines))})"
        return f"{self.clause.text}: {self.measured}{where}"


def _split(check: str) -> list[str]:
    """The clauses of ``check``: ``;`` outside quotes separates them."""
    clauses: list[str] = []
    current: list[str] = []
    quote = ""
    for char in check:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ";":
            clauses.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote:
        raise CheckSyntaxError("".join(current).strip(), f"the quote {quote} is never closed")
    clauses.append("".join(current))
    if clauses and not clauses[-1].strip() and len(clauses) > 1:
        clauses.pop()  # one trailing ";" is harmless
    return [clause.strip() for clause in clauses]


def _quoted(text: str, rest: str, usage: str) -> str:
    if len(rest) < 2 or rest[0] not in "'\"" or rest[-1] != rest[0]:
        raise CheckSyntaxError(text, usage)
    return rest[1:-1]


def _literal(text: str, literal: str) -> str:
    """``literal`` checked to be a plain Python literal (number, string, True/False/None)."""
    try:
        value = ast.literal_eval(literal.strip())
    except (ValueError, SyntaxError):
        raise CheckSyntaxError(
            text, f"{literal.strip()} is not a value (a number, 'text', True, False or None)"
        ) from None
    if not isinstance(value, int | float | str | type(None)):
        raise CheckSyntaxError(
            text, f"{literal.strip()} is not a value (a number, 'text', True, False or None)"
        )
    return literal.strip()


def _value_of(literal: str) -> object:
    return ast.literal_eval(literal)


def literal_text(value: object) -> str:
    """A value as a check writes it: ``5``, ``'Tides of Ink'``, ``None``."""
    return repr(value)


_USAGE = (
    "expected COUNTER OP N, prints 'TEXT', raises NAME, state LABEL STATE, value LABEL.ATTR == VALUE, "
    "expired/loaded LABEL ATTR, ..., row TABLE KEY=VALUE COLUMN == VALUE, rows TABLE OP N, "
    "sql contains 'TEXT', line KIND == LINE, object NAME == LABEL or no SQL"
)


def _parse_clause(text: str) -> Clause:  # noqa: PLR0911, PLR0912 - one branch per clause kind
    if not text:
        raise CheckSyntaxError(text, "empty clause (two ';' in a row?)")
    word, _, rest = text.partition(" ")
    rest = rest.strip()
    if text.lower() == "no sql":
        return Clause(text, "no_sql")
    if word == "prints":
        return Clause(
            text, "prints", argument=_quoted(text, rest, "prints needs quoted text: prints 'Ada: 2'")
        )
    if word == "raises":
        if not _NAME.match(rest):
            raise CheckSyntaxError(text, "raises needs an exception name or 'nothing': raises KeyError")
        return Clause(text, "raises", argument=rest)
    if word == "state":
        parts = rest.split()
        if len(parts) != 2 or not _LABEL.match(parts[0]):
            raise CheckSyntaxError(text, "state needs an object label and a state: state Book#1 detached")
        if parts[1] not in STATES:
            raise CheckSyntaxError(text, f"{parts[1]!r} is not a state (one of {', '.join(STATES)})")
        return Clause(text, "state", argument=parts[0], state=parts[1])
    if word == "value":
        match = _VALUE.match(rest)
        if match is None:
            raise CheckSyntaxError(text, "value needs LABEL.ATTRIBUTE == VALUE: value Book#2.copies == 5")
        literal = _literal(text, match["literal"])
        return Clause(text, "value", argument=match["label"], attribute=match["attribute"], literal=literal)
    if word in ("expired", "loaded"):
        label, _, names = rest.partition(" ")
        attributes = tuple(name.strip() for name in names.split(","))
        if not _LABEL.match(label) or not all(_IDENTIFIER.match(name) for name in attributes):
            raise CheckSyntaxError(
                text, f"{word} needs a label and attribute names: {word} Book#1 title, year"
            )
        return Clause(text, word, argument=label, attributes=attributes)
    if word == "row":
        match = _ROW.match(rest)
        if match is None:
            raise CheckSyntaxError(
                text, "row needs TABLE KEY=VALUE COLUMN == VALUE: row book id=2 copies == 5"
            )
        key = (match["key"], _literal(text, match["id"]))
        literal = _literal(text, match["literal"])
        return Clause(
            text, "row", argument=match["table"], key=key, attribute=match["column"], literal=literal
        )
    if word == "rows":
        match = _ROWS.match(rest)
        if match is None:
            raise CheckSyntaxError(text, "rows needs TABLE OP N: rows book == 3")
        return Clause(
            text, "rows", argument=match["table"], operator=match["op"], number=int(match["number"])
        )
    if word == "sql" and rest.startswith("contains"):
        needle = _quoted(
            text, rest[len("contains") :].strip(), "sql contains needs quoted text: sql contains 'FOR UPDATE'"
        )
        return Clause(text, "sql", argument=needle)
    if word == "line":
        match = _LINE.match(rest)
        if match is None or match["kind"] not in _LINE_KINDS:
            raise CheckSyntaxError(
                text, f"line needs a statement kind ({', '.join(_LINE_KINDS)}) and a line: line select == 42"
            )
        where = match["where"].strip()
        if where.isdigit():
            return Clause(text, "line", counter=match["kind"], number=int(where))
        code = _quoted(
            text, where, "line needs a line number or the line's code in quotes: line select == 'rows = ...'"
        )
        return Clause(text, "line", counter=match["kind"], argument=code)
    if word == "object":
        match = _OBJECT.match(rest)
        if match is None or not _LABEL.match(match["label"]):
            raise CheckSyntaxError(text, "object needs a variable and a label: object again == Book#1")
        return Clause(text, "object", argument=match["label"], attribute=match["name"])
    match = _COUNT.match(text)
    if match is None:
        raise CheckSyntaxError(text, _USAGE)
    if match["counter"] not in COUNTERS and match["counter"] != _CHANGED:
        names = ", ".join([*COUNTERS, _CHANGED])
        raise CheckSyntaxError(text, f"unknown counter {match['counter']!r} (one of {names})")
    if not match["number"].isdigit():
        raise CheckSyntaxError(text, f"{match['number']!r} is not a whole number")
    return Clause(text, "count", counter=match["counter"], operator=match["op"], number=int(match["number"]))


def parse_clauses(text: str) -> list[Clause]:
    """The clauses of ``text`` (``;`` separates them); :class:`CheckSyntaxError` for the first malformed one."""
    if not text.strip():
        raise CheckSyntaxError(text, "the check is empty")
    return [_parse_clause(clause) for clause in _split(text)]


def parse_check(check: str) -> list[Clause]:
    """An exercise's check: :func:`parse_clauses`, and at least one clause about what the code did.

    A check made only of ``prints``, ``raises nothing`` and upper bounds (``select <= 2``,
    ``sql == 0``) passes on a cell that prints the expected text and does nothing else, so it
    is malformed: add a lower bound, a state, a value, a row, a statement's text or its line.
    """
    clauses = parse_clauses(check)
    if all(clause.bounded_above for clause in clauses):
        raise CheckSyntaxError(
            check.strip(),
            "only prints, raises nothing and upper bounds, which a cell "
            "that sends nothing and prints the text passes: add a clause about what the code did "
            "(a count with ==/>=, state, value, loaded, expired, row, rows, sql contains, line, changed)",
        )
    return clauses


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _lines(events: Sequence[Event]) -> tuple[int, ...]:
    return tuple(sorted({line for event in events if (line := event.get("line")) is not None}))


def _object(step: Step, label: str) -> ObjectRecord | None:
    return next((obj for obj in step.get("objects") or [] if obj.get("label") == label), None)


def _touching(events: Events, label: str) -> Events:
    return [
        event for event in events if event.get("object") == label or label in str(event.get("cause") or "")
    ]


def _count(clause: Clause, events: Events) -> ClauseResult:
    if clause.counter == _CHANGED:
        value, written = changed_rows(events)
        passed = _OPERATORS[clause.operator](value, clause.number)
        return ClauseResult(clause, passed, f"changed {value} row{'s' * (value != 1)}", _lines(written))
    select, singular, plural = COUNTERS[clause.counter]
    counted = select(events)
    value = len(counted)
    passed = _OPERATORS[clause.operator](value, clause.number)
    return ClauseResult(clause, passed, f"{value} {singular if value == 1 else plural}", _lines(counted))


def _printed(clause: Clause, events: Events) -> ClauseResult:
    outputs = [event for event in events if event["kind"] == "output" and event.get("stream") != "stderr"]
    text = "".join(str(event.get("text", "")) for event in outputs)
    lines = [line.rstrip() for line in text.splitlines()]
    shown = f"printed {_shorten(text.strip())}" if text.strip() else "printed nothing"
    return ClauseResult(clause, clause.argument.rstrip() in lines, shown, _lines(outputs))


def _value(clause: Clause, step: Step, events: Events) -> ClauseResult:
    found = _object(step, clause.argument)
    name = f"{clause.argument}.{clause.attribute}"
    if found is None:
        return ClauseResult(clause, False, f"there is no {clause.argument}")
    lines = _lines(_touching(events, clause.argument))
    if clause.attribute in (found.get("expired") or []):
        return ClauseResult(clause, False, f"{name} is expired (the next access loads it)", lines)
    values = found.get("values") or {}
    if clause.attribute not in values:
        return ClauseResult(clause, False, f"{name} is not loaded", lines)
    actual = values[clause.attribute]
    return ClauseResult(
        clause, actual == _value_of(clause.literal), f"{name} is {literal_text(actual)}", lines
    )


def _attributes(clause: Clause, step: Step, events: Events) -> ClauseResult:
    found = _object(step, clause.argument)
    if found is None:
        return ClauseResult(clause, False, f"there is no {clause.argument}")
    expired = list(found.get("expired") or [])
    loaded = list((found.get("values") or {}).keys())
    have = expired if clause.kind == "expired" else loaded
    measured = f"{clause.argument} has {clause.kind} {', '.join(have) or 'nothing'}"
    passed = all(name in have for name in clause.attributes)
    return ClauseResult(clause, passed, measured, _lines(_touching(events, clause.argument)))


def _row(clause: Clause, step: Step, events: Events) -> ClauseResult:
    table = (step.get("tables") or {}).get(clause.argument)
    written = [event for event in statements(events) if clause.argument in str(event["statement"]).lower()]
    lines = _lines(
        [event for event in written if not str(event["statement"]).lstrip().upper().startswith("SELECT")]
    )
    if table is None:
        return ClauseResult(clause, False, f"the database has no table {clause.argument}")
    columns = list(table["columns"])
    rows = list(table["rows"])
    if clause.kind == "rows":
        passed = _OPERATORS[clause.operator](len(rows), clause.number)
        return ClauseResult(
            clause, passed, f"{clause.argument} has {len(rows)} row{'s' * (len(rows) != 1)}", lines
        )
    column, key = clause.key
    if column not in columns or clause.attribute not in columns:
        missing = column if column not in columns else clause.attribute
        return ClauseResult(clause, False, f"{clause.argument} has no column {missing}")
    wanted = _value_of(key)
    row = next((row for row in rows if row[columns.index(column)] == wanted), None)
    where = f"{clause.argument} {column}={key}"
    if row is None:
        return ClauseResult(clause, False, f"{clause.argument} has no committed row {column}={key}", lines)
    actual = row[columns.index(clause.attribute)]
    passed = actual == _value_of(clause.literal)
    return ClauseResult(clause, passed, f"{where} has {clause.attribute} {literal_text(actual)}", lines)


def _sql_text(clause: Clause, events: Events) -> ClauseResult:
    needle = " ".join(clause.argument.split()).upper()
    sent = statements(events)
    found = [
        event
        for event in sent
        if needle in " ".join(str(event["statement"]).split()).upper()
        or needle in str(event.get("lock") or "").upper()
    ]
    if found:
        return ClauseResult(clause, True, f"{len(found)} of {len(sent)} statements contain it", _lines(found))
    return ClauseResult(
        clause, False, f"none of {len(sent)} statement{'s' * (len(sent) != 1)} contains it", _lines(sent)
    )


def _line(clause: Clause, events: Events, source: Sequence[str] | None) -> ClauseResult:
    select = COUNTERS[clause.counter][0]
    sent = select(events)
    lines = _lines(sent)
    what = COUNTERS[clause.counter][1]
    if not sent:
        return ClauseResult(clause, False, f"no {what} was sent")
    if clause.number:
        wanted = {clause.number}
    elif source is None:
        return ClauseResult(clause, False, "the program's source is needed to find the line", lines)
    else:
        code = clause.argument.strip()
        wanted = {number for number, text in enumerate(source, start=1) if text.strip() == code}
    sent_by = ", ".join(map(str, lines))
    return ClauseResult(
        clause, set(lines) <= wanted, f"{what} sent by line{'s' * (len(lines) > 1)} {sent_by}", lines
    )


def _measure(clause: Clause, step: Step, source: Sequence[str] | None) -> ClauseResult:  # noqa: PLR0911
    events = list(step.get("events") or [])
    error = step.get("error")
    if clause.kind == "count":
        return _count(clause, events)
    if clause.kind == "prints":
        return _printed(clause, events)
    if clause.kind == "raises":
        raised = str(error["type"]) if error else "nothing"
        where = (line,) if error and (line := error.get("line")) else ()
        return ClauseResult(clause, raised == clause.argument, f"raised {raised}", where)
    if clause.kind == "no_sql":
        database = [event for event in events if event["kind"] == "sql" or transaction_verb(event)]
        return ClauseResult(
            clause, not database, f"{len(database)} statements and transaction events", _lines(database)
        )
    if clause.kind == "value":
        return _value(clause, step, events)
    if clause.kind in ("expired", "loaded"):
        return _attributes(clause, step, events)
    if clause.kind in ("row", "rows"):
        return _row(clause, step, events)
    if clause.kind == "sql":
        return _sql_text(clause, events)
    if clause.kind == "line":
        return _line(clause, events, source)
    if clause.kind == "object":
        holder = next(
            (obj for obj in step.get("objects") or [] if clause.attribute in (obj.get("names") or [])), None
        )
        measured = (
            f"{clause.attribute} is {holder['label']}"
            if holder
            else f"no object is called {clause.attribute}"
        )
        return ClauseResult(clause, holder is not None and holder.get("label") == clause.argument, measured)
    found = _object(step, clause.argument)
    if found is None:
        return ClauseResult(clause, False, f"there is no {clause.argument}")
    transitions = [
        event for event in events if event["kind"] == "transition" and event.get("object") == clause.argument
    ]
    return ClauseResult(
        clause, found["state"] == clause.state, f"{clause.argument} is {found['state']}", _lines(transitions)
    )


def evaluate(clauses: list[Clause], step: Step, source: str | None = None) -> list[ClauseResult]:
    """Each clause measured against ``step`` (a transcript step: events, objects, tables, error).

    ``source``, the program's text, is needed only by ``line KIND == 'code'``.
    """
    lines = source.splitlines() if source is not None else None
    return [_measure(clause, step, lines) for clause in clauses]
