"""Exercise checks: a small language of claims about one step's transcript (docs/exercises.md).

A check is data written by a teacher in a cell header, never code::

    select <= 2; lazy_load == 0; prints 'Ada: 2'; raises nothing; state Book#1 detached

:func:`parse_check` reads it (:class:`CheckSyntaxError` names the bad clause) and
:func:`evaluate` measures it against a step, saying for each clause what was measured. The app,
``python -m sqlecho check`` and the tests share this module; it imports nothing of the ORM.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .sql import is_statement, kind_of

__all__ = [
    "COUNTERS",
    "CheckSyntaxError",
    "Clause",
    "ClauseResult",
    "evaluate",
    "parse_check",
]

_STATES = ("transient", "pending", "persistent", "deleted", "detached")
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


def _statements(events: list[Mapping[str, Any]], test: Callable[[Mapping[str, Any]], bool]) -> int:
    return sum(1 for event in events if is_statement(event) and test(event))


def _of_kind(kind: str) -> Callable[[list[Mapping[str, Any]]], int]:
    return lambda events: _statements(events, lambda event: kind_of(event["statement"]) == kind)


def _events(kind: str) -> Callable[[list[Mapping[str, Any]]], int]:
    return lambda events: sum(1 for event in events if event["kind"] == kind)


def _caused(prefix: str, *, exact: bool = False) -> Callable[[list[Mapping[str, Any]]], int]:
    def test(event: Mapping[str, Any]) -> bool:
        cause = str(event.get("cause") or "")
        return cause == prefix if exact else cause.startswith(prefix)

    return lambda events: _statements(events, test)


COUNTERS: dict[str, tuple[Callable[[list[Mapping[str, Any]]], int], str, str]] = {
    # name: (how to count a step's events, singular, plural) for the "what was measured" text
    "sql": (lambda events: _statements(events, lambda _event: True), "statement", "statements"),
    "select": (_of_kind("select"), "SELECT", "SELECTs"),
    "insert": (_of_kind("insert"), "INSERT", "INSERTs"),
    "update": (_of_kind("update"), "UPDATE", "UPDATEs"),
    "delete": (_of_kind("delete"), "DELETE", "DELETEs"),
    "begin": (_events("begin"), "BEGIN", "BEGINs"),
    "commit": (_events("commit"), "COMMIT", "COMMITs"),
    "rollback": (_events("rollback"), "ROLLBACK", "ROLLBACKs"),
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
"""Every counter a check may name (``COUNTER OP N``)."""


class CheckSyntaxError(ValueError):
    """A check that does not follow the syntax; ``clause`` is the offending clause as written."""

    def __init__(self, clause: str, reason: str) -> None:
        super().__init__(f"bad clause {clause!r}: {reason}")
        self.clause = clause
        self.reason = reason


@dataclass(frozen=True)
class Clause:
    """One clause of a check, parsed."""

    text: str
    """The clause as written (spaces around it removed)."""
    kind: str
    """``count``, ``prints``, ``raises`` or ``state``."""
    counter: str = ""
    """For ``count``: the counter's name."""
    operator: str = ""
    """For ``count``: one of ``== <= >= < >``."""
    number: int = 0
    """For ``count``: the number compared with."""
    argument: str = ""
    """The text of ``prints``, the error name of ``raises`` (``nothing``: none) or the label of ``state``."""
    state: str = ""
    """For ``state``: the state the object must be in."""


@dataclass(frozen=True)
class ClauseResult:
    """A clause measured against a step."""

    clause: Clause
    passed: bool
    measured: str
    """What the step did, in words (``5 SELECTs``, ``Book#1 is persistent``)."""

    def __str__(self) -> str:
        return f"{self.clause.text}: {self.measured}"


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


def _parse_clause(text: str) -> Clause:
    if not text:
        raise CheckSyntaxError(text, "empty clause (two ';' in a row?)")
    word, _, rest = text.partition(" ")
    rest = rest.strip()
    if word == "prints":
        if len(rest) < 2 or rest[0] not in "'\"" or rest[-1] != rest[0]:
            raise CheckSyntaxError(text, "prints needs quoted text: prints 'Ada: 2'")
        return Clause(text, "prints", argument=rest[1:-1])
    if word == "raises":
        if not _NAME.match(rest):
            raise CheckSyntaxError(text, "raises needs an exception name or 'nothing': raises KeyError")
        return Clause(text, "raises", argument=rest)
    if word == "state":
        parts = rest.split()
        if len(parts) != 2 or not _LABEL.match(parts[0]):
            raise CheckSyntaxError(text, "state needs an object label and a state: state Book#1 detached")
        if parts[1] not in _STATES:
            raise CheckSyntaxError(text, f"{parts[1]!r} is not a state (one of {', '.join(_STATES)})")
        return Clause(text, "state", argument=parts[0], state=parts[1])
    match = _COUNT.match(text)
    if match is None:
        raise CheckSyntaxError(text, "expected COUNTER OP N, prints 'TEXT', raises NAME or state LABEL STATE")
    if match["counter"] not in COUNTERS:
        raise CheckSyntaxError(text, f"unknown counter {match['counter']!r} (one of {', '.join(COUNTERS)})")
    if not match["number"].isdigit():
        raise CheckSyntaxError(text, f"{match['number']!r} is not a whole number")
    return Clause(text, "count", counter=match["counter"], operator=match["op"], number=int(match["number"]))


def parse_check(check: str) -> list[Clause]:
    """The clauses of ``check``; :class:`CheckSyntaxError` for the first malformed one."""
    if not check.strip():
        raise CheckSyntaxError(check, "the check is empty")
    return [_parse_clause(text) for text in _split(check)]


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _measure(clause: Clause, step: Mapping[str, Any]) -> ClauseResult:
    events = list(step.get("events") or [])
    error = step.get("error")
    if clause.kind == "count":
        count, singular, plural = COUNTERS[clause.counter]
        value = count(events)
        passed = _OPERATORS[clause.operator](value, clause.number)
        return ClauseResult(clause, passed, f"{value} {singular if value == 1 else plural}")
    if clause.kind == "prints":
        output = "".join(str(event.get("text", "")) for event in events if event["kind"] == "output")
        shown = f"printed {_shorten(output.strip())}" if output.strip() else "printed nothing"
        return ClauseResult(clause, clause.argument in output, shown)
    if clause.kind == "raises":
        raised = str(error["type"]) if error else "nothing"
        return ClauseResult(clause, raised == clause.argument, f"raised {raised}")
    found = next((obj for obj in step.get("objects") or [] if obj.get("label") == clause.argument), None)
    if found is None:
        return ClauseResult(clause, False, f"there is no {clause.argument}")
    return ClauseResult(clause, found["state"] == clause.state, f"{clause.argument} is {found['state']}")


def evaluate(clauses: list[Clause], step: Mapping[str, Any]) -> list[ClauseResult]:
    """Each clause measured against ``step`` (a transcript step: events, objects, error)."""
    return [_measure(clause, step) for clause in clauses]
