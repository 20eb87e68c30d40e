"""What a statement is, what kind it is, and how many a step sent: the one definition.

Every number the product shows or checks about SQL comes from here: a lesson's ``Expect:``
line, an exercise check (``select <= 2``), the count beside each line of code, the panels'
"N statements", ``Capture.count`` and ``assert_count``. A rule written twice drifts (a ``WITH``
query once counted as a SELECT in one place and as nothing in another), so there is one.

The rules, with the reason for each:

- A **statement** is an ``sql`` event (something sent to the driver) that is not transaction
  control. ``SELECT``, ``INSERT``, ``UPDATE``, ``DELETE`` (``... RETURNING`` too), DDL
  (``CREATE``, ``DROP``, ``ALTER``), ``PRAGMA`` and the savepoint statements (``SAVEPOINT``,
  ``RELEASE``, ``ROLLBACK TO``) are statements: each is a round trip the learner sees in echo.
- **Transaction control** is what begins or ends a transaction: SQLAlchemy's own events (echo's
  ``BEGIN (implicit)``, ``COMMIT``, ``ROLLBACK``) and the same verbs sent as text (a recipe's
  ``connection.exec_driver_sql("BEGIN")``, ``START TRANSACTION``, ``END``). Both count as
  ``begin``/``commit``/``rollback``, never as statements: echo shows both as a BEGIN line.
- A statement's **kind** is its verb in lower case. A ``WITH`` query has the kind of its main
  verb (the first outside parentheses): a CTE query is a ``select``. ``SAVEPOINT``, ``RELEASE``
  and ``ROLLBACK TO`` are the ``savepoint`` kind; :func:`keyword_of` tells them apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..transcript import Step

__all__ = [
    "TRANSACTION_KINDS",
    "caused",
    "changed_rows",
    "count",
    "count_caused",
    "is_savepoint",
    "is_statement",
    "keyword_of",
    "kind_of",
    "statements",
    "statements_per_line",
    "transaction_verb",
]

TRANSACTION_KINDS = ("begin", "commit", "rollback")
"""The kinds of transaction control: event kinds, and the verbs of their textual forms."""

# Transaction control sent as text, by its first word, and the transaction kind it counts as.
_TEXTUAL_TRANSACTION = {
    "begin": "begin",
    "start": "begin",
    "commit": "commit",
    "end": "commit",
    "rollback": "rollback",
}
_SAVEPOINT = re.compile(r"\s*(?P<verb>SAVEPOINT\b|RELEASE\b|ROLLBACK\s+TO\b)", re.IGNORECASE)
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|[()]|\w+")
_VERBS = frozenset({"select", "insert", "update", "delete"})

_E = TypeVar("_E", bound=Mapping[str, object])
"""An event: a transcript's :class:`~sqlecho.transcript.Event`, or a capture's own record (which
carries keys of its own besides)."""


def is_savepoint(statement: str) -> bool:
    """SAVEPOINT, RELEASE SAVEPOINT or ROLLBACK TO SAVEPOINT."""
    return _SAVEPOINT.match(statement) is not None


def keyword_of(statement: str) -> str:
    """The word an ``Expect:`` claim names a statement by: ``SELECT``, ``ROLLBACK TO``, ``PRAGMA``...

    ``WITH ... SELECT`` is a ``SELECT``; textual transaction control is ``BEGIN``, ``COMMIT``
    or ``ROLLBACK`` (``START TRANSACTION`` is a ``BEGIN``, ``END`` a ``COMMIT``).
    """
    savepoint = _SAVEPOINT.match(statement)
    if savepoint is not None:
        return " ".join(savepoint["verb"].upper().split())
    depth = 0
    first = ""
    for token in _TOKEN.findall(statement):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token[0] in "'\"":
            continue
        elif not first:  # at any depth: "(SELECT 1) UNION (SELECT 2)" is a select
            first = token.lower()
            if first != "with":
                break
        elif depth <= 0 and token.lower() in _VERBS:
            return str(token).upper()
    return _TEXTUAL_TRANSACTION.get(first, first).upper()


def kind_of(statement: str) -> str:
    """A statement's kind in lower case: ``select``, ``insert``, ``savepoint``, ``pragma``...

    Transaction control sent as text has its transaction kind (``begin``, ``commit``, ``rollback``).
    """
    keyword = keyword_of(statement)
    return "savepoint" if keyword in ("SAVEPOINT", "RELEASE", "ROLLBACK TO") else keyword.lower()


def transaction_verb(event: Mapping[str, object]) -> str | None:
    """``begin``/``commit``/``rollback`` for transaction control (an event or its text), else None."""
    if event["kind"] in TRANSACTION_KINDS:
        return str(event["kind"])
    if event["kind"] == "sql":
        kind = kind_of(str(event["statement"]))
        return kind if kind in TRANSACTION_KINDS else None
    return None


def is_statement(event: Mapping[str, object]) -> bool:
    """An ``sql`` event that is not transaction control sent as text: what every counter counts."""
    return event["kind"] == "sql" and transaction_verb(event) is None


def statements(events: Iterable[_E], kind: str | None = None) -> list[_E]:
    """The events of ``events`` that are statements of ``kind`` (None: every statement).

    ``kind`` is a :func:`kind_of` kind (``select``, ``savepoint``...), a :func:`keyword_of`
    keyword (``SELECT``, ``RELEASE``, ``ROLLBACK TO``: upper case), or one of
    :data:`TRANSACTION_KINDS`, which selects transaction control, events and text alike.
    """
    if kind in TRANSACTION_KINDS:
        return [event for event in events if transaction_verb(event) == kind]
    if kind is None:
        return [event for event in events if is_statement(event)]
    key = keyword_of if kind.isupper() else kind_of
    return [event for event in events if is_statement(event) and key(str(event["statement"])) == kind]


def count(events: Iterable[Mapping[str, object]], kind: str | None = None) -> int:
    """How many of ``events`` are statements of ``kind``, as :func:`statements` selects them."""
    return len(statements(events, kind))


def caused(events: Iterable[_E], cause: str, *, kind: str | None = None, exact: bool = False) -> list[_E]:
    """Statements (of ``kind``, as for :func:`statements`) whose cause starts with ``cause`` (``exact``: is it)."""

    def matches(event: Mapping[str, object]) -> bool:
        text = str(event.get("cause") or "")
        return text == cause if exact else text.startswith(cause)

    return statements([event for event in events if event["kind"] == "sql" and matches(event)], kind)


def count_caused(
    events: Iterable[Mapping[str, object]], cause: str, *, kind: str | None = None, exact: bool = False
) -> int:
    """How many statements :func:`caused` selects."""
    return len(caused(events, cause, kind=kind, exact=exact))


def changed_rows(events: Iterable[_E]) -> tuple[int, list[_E]]:
    """Rows written by the INSERT, UPDATE and DELETE statements of ``events`` (the driver's
    rowcount), and those statements. A statement whose rowcount is unknown (-1) adds nothing, nor
    does one with ``RETURNING``, whose rowcount drivers do not report as rows written."""
    written = [
        event
        for event in statements(events)
        if kind_of(str(event["statement"])) in ("insert", "update", "delete")
        and "RETURNING" not in str(event["statement"]).upper()
        and _rows(event) is not None
    ]
    return sum(_rows(event) or 0 for event in written), written


def _rows(event: Mapping[str, object]) -> int | None:
    """The driver's rowcount of a statement, None when it is unknown (-1) or absent."""
    rowcount = event.get("rowcount")
    return rowcount if isinstance(rowcount, int) and rowcount >= 0 else None


def statements_per_line(steps: Iterable[Step]) -> Counter[int]:
    """How many statements each line of the program sent, over ``steps`` (the code gutter)."""
    counts: Counter[int] = Counter()
    for step in steps:
        for event in step["events"]:
            if is_statement(event) and (line := event.get("line")) is not None:
                counts[line] += 1
    return counts
