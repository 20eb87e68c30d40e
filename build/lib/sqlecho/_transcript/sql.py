"""Statement text as tests compare it: whitespace folded, and what kind of statement."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["TRANSACTION_KINDS", "fold", "is_savepoint", "is_statement", "kind_of"]

# SQL-level transaction control that a driver or a recipe may send as a statement.
TRANSACTION_KINDS = frozenset({"begin", "commit", "rollback", "start", "end"})
_SAVEPOINT = re.compile(r"\s*(SAVEPOINT|RELEASE\b|ROLLBACK\s+TO\b)", re.IGNORECASE)
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|[()]|\w+")
_VERBS = frozenset({"select", "insert", "update", "delete"})


def is_savepoint(statement: str) -> bool:
    """SAVEPOINT, RELEASE SAVEPOINT or ROLLBACK TO SAVEPOINT."""
    return _SAVEPOINT.match(statement) is not None


def fold(statement: str) -> str:
    """The statement with each run of whitespace (newlines too) folded to one space."""
    return " ".join(statement.split())


def kind_of(statement: str) -> str:
    """A statement's kind in lower case: ``select``, ``insert``, ``savepoint``...

    A ``WITH`` statement has the kind of its main verb (the first one outside
    parentheses), so a CTE query counts as a ``select``.
    """
    if is_savepoint(statement):
        return "savepoint"
    depth = 0
    first = ""
    token: str
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
                return first
        elif depth <= 0 and token.lower() in _VERBS:
            return token.lower()
    return first


def is_statement(event: Mapping[str, Any]) -> bool:
    """An ``sql`` event that is not transaction control sent as SQL text (``BEGIN``, ``COMMIT``).

    What ``capture().statements`` lists and the test API's listings number.
    """
    return event["kind"] == "sql" and kind_of(event["statement"]) not in TRANSACTION_KINDS
