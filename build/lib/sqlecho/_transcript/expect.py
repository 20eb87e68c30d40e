"""``Expect:`` lines: the counts a lesson's narrative promises for its step.

A narrative line such as ``Expect: 1 INSERT (flush), 1 COMMIT`` is a claim about the step it
introduces (lessons/README.md). The curriculum's tests hold every lesson to its claims, and the
app turns them into the questions of predict mode: both read them here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Claim",
    "check_expectations",
    "count_events",
    "parse_expectations",
    "statement_keyword",
    "without_expectations",
]

_EXPECT_LINE = re.compile(r"^Expect:\s*(?P<claims>.*?)\s*$", re.MULTILINE)
_CLAIM = re.compile(
    r"^(?P<count>\d+)\s+(?P<kind>statements?|ROLLBACK TO|[A-Z]+)(?:\s+\((?P<cause>[^()]+)\))?$"
)
# Transaction control is counted from begin/commit/rollback events (echo's BEGIN (implicit) etc.).
_TRANSACTION = {"BEGIN": "begin", "COMMIT": "commit", "ROLLBACK": "rollback"}
_STATEMENTS = {
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "PRAGMA",
    "SAVEPOINT",
    "RELEASE",
    "ROLLBACK TO",
}
_DATABASE_EVENTS = {"sql", *_TRANSACTION.values()}


@dataclass(frozen=True)
class Claim:
    """One claim of an ``Expect:`` line: ``count`` events of ``kind``, with an optional cause prefix."""

    count: int
    kind: str
    """``SELECT``..., ``statement(s)``, ``BEGIN``/``COMMIT``/``ROLLBACK``, or ``SQL`` for ``no SQL``."""
    cause: str | None

    @property
    def what(self) -> str:
        """What the claim counts, in words: ``SELECT (lazy load)``."""
        what = "SQL (statements or transaction events)" if self.kind == "SQL" else self.kind
        return what + (f" ({self.cause})" if self.cause else "")

    @property
    def question(self) -> str:
        """The claim as a question for the reader."""
        if self.kind == "SQL":
            return "How many SQL statements and BEGIN/COMMIT/ROLLBACK events?"
        if self.kind.startswith("statement"):
            noun = "statements"
        elif self.kind in _TRANSACTION:
            noun = f"{self.kind} events"
        else:
            noun = f"{self.kind} statements"
        return f"How many {noun}" + (f" caused by {self.cause}?" if self.cause else "?")


def statement_keyword(statement: str) -> str:
    """The kind an ``Expect:`` claim names for a statement: its first word, or ``ROLLBACK TO``."""
    words = statement.split()
    if not words:
        return ""
    if words[0].upper() == "ROLLBACK" and len(words) > 1 and words[1].upper() == "TO":
        return "ROLLBACK TO"
    return words[0].upper()


def parse_expectations(narrative: str) -> list[Claim] | None:
    """The ``Expect:`` claims of a narrative; None when it has none.

    ``Expect: no SQL`` is the claim (0, "SQL", None). Raises ValueError for a claim that does not
    follow the syntax, so that a typo cannot silently check nothing.
    """
    lines = _EXPECT_LINE.findall(narrative)
    if not lines:
        return None
    claims: list[Claim] = []
    for line in lines:
        if line == "no SQL":
            claims.append(Claim(0, "SQL", None))
            continue
        for part in line.split(","):
            match = _CLAIM.match(part.strip())
            kind = match["kind"] if match else ""
            if match is None or (
                kind not in _STATEMENTS and kind not in _TRANSACTION and not kind.startswith("statement")
            ):
                raise ValueError(f"not an Expect: claim: {part.strip()!r} (see lessons/README.md)")
            if match["cause"] and kind in _TRANSACTION:
                raise ValueError(f"{kind} events have no cause: {part.strip()!r} (see lessons/README.md)")
            claims.append(Claim(int(match["count"]), kind, match["cause"]))
    return claims


def count_events(events: Sequence[Mapping[str, Any]], kind: str, cause: str | None) -> int:
    """How many of ``events`` a claim of ``kind`` (and optional cause prefix) counts."""
    if kind == "SQL":
        return sum(1 for event in events if event["kind"] in _DATABASE_EVENTS)
    if kind in _TRANSACTION:
        return sum(1 for event in events if event["kind"] == _TRANSACTION[kind])
    return sum(
        1
        for event in events
        if event["kind"] == "sql"
        and (kind.startswith("statement") or statement_keyword(event["statement"]) == kind)
        and (cause is None or (event.get("cause") or "").startswith(cause))
    )


def check_expectations(step: Mapping[str, Any]) -> list[str]:
    """Every ``Expect:`` claim of ``step`` that its events contradict, as readable messages."""
    problems = []
    for claim in parse_expectations(step["narrative"]) or []:
        actual = count_events(step["events"], claim.kind, claim.cause)
        if actual != claim.count:
            problems.append(
                f"step {step['index'] + 1} ({step['title']}): expected {claim.count} {claim.what}, got {actual}"
            )
    return problems


def without_expectations(narrative: str) -> str:
    """``narrative`` without its ``Expect:`` lines: the question, before the reader answers it."""
    return _EXPECT_LINE.sub("", narrative).strip()
