"""``Expect:`` lines: what a lesson's narrative promises for its step.

A narrative line is a claim about the step it introduces (lessons/README.md), in one of two forms:

- counts, as always: ``Expect: 1 INSERT (flush), 1 COMMIT`` or ``Expect: no SQL``;
- clauses of the check grammar (:mod:`.checks`), one line each: ``Expect: state Book#1 detached``,
  ``Expect: value Book#2.copies == 5``, ``Expect: expired Book#1 title, year``,
  ``Expect: prints 'Ada: 2'``, ``Expect: line select == 'print(author.books)'``...

A ``Shows:`` line has the same grammar and is checked the same way, but states what a setup step
does instead of asking it: the app shows it and asks nothing. The curriculum's tests hold every
lesson to its claims, and the app turns the ``Expect:`` ones into questions
(:mod:`.questions`): both read them here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..transcript import Step
from .checks import CheckSyntaxError, Clause, evaluate, parse_clauses
from .counting import count, count_caused

__all__ = [
    "Claim",
    "check_expectations",
    "count_events",
    "first_expectation",
    "parse_claims",
    "parse_expectations",
    "without_expectations",
]

_EXPECT_LINE = re.compile(r"^Expect:\s*(?P<claims>.*?)\s*$", re.MULTILINE)
_SHOWS_LINE = re.compile(r"^Shows:\s*(?P<claims>.*?)\s*$", re.MULTILINE)
# An Expect: line in the check grammar starts with one of these words (counts start with a digit).
_CLAUSE_WORDS = (
    "state ",
    "value ",
    "expired ",
    "loaded ",
    "prints ",
    "line ",
    "row ",
    "rows ",
    "sql ",
    "raises ",
    "object ",
    "changed ",
)
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
    "ALTER",
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


def _is_clause_line(line: str) -> bool:
    return line.startswith(_CLAUSE_WORDS)


def parse_claims(narrative: str, *, shown: bool = False) -> list[Clause]:
    """The check-grammar clauses of a narrative's ``Expect:`` lines (``shown``: its ``Shows:`` lines).

    Raises ValueError (a :class:`~.checks.CheckSyntaxError`) for a clause that does not parse.
    """
    pattern = _SHOWS_LINE if shown else _EXPECT_LINE
    clauses: list[Clause] = []
    for line in pattern.findall(narrative):
        if _is_clause_line(line):
            try:
                clauses.extend(parse_clauses(line))
            except CheckSyntaxError as exc:
                raise ValueError(f"not an Expect: claim: {exc} (see lessons/README.md)") from None
    return clauses


def parse_expectations(narrative: str, *, shown: bool = False) -> list[Claim] | None:
    """The count claims of a narrative's ``Expect:`` lines (``shown``: its ``Shows:`` lines);
    None when it has no such line at all (clause lines included: :func:`parse_claims`).

    ``Expect: no SQL`` is the claim (0, "SQL", None). Raises ValueError for a claim that does not
    follow the syntax, so that a typo cannot silently check nothing.
    """
    lines = (_SHOWS_LINE if shown else _EXPECT_LINE).findall(narrative)
    if not lines:
        return None
    claims: list[Claim] = []
    for line in lines:
        if _is_clause_line(line):
            continue
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


def count_events(events: Sequence[Mapping[str, object]], kind: str, cause: str | None) -> int:
    """How many of ``events`` a claim of ``kind`` (and optional cause prefix) counts."""
    if kind == "SQL":
        return sum(1 for event in events if event["kind"] in _DATABASE_EVENTS)
    wanted = _TRANSACTION.get(kind, None if kind.startswith("statement") else kind)
    return count(events, wanted) if cause is None else count_caused(events, cause, kind=wanted)


def check_expectations(step: Step, source: str | None = None) -> list[str]:
    """Every ``Expect:`` and ``Shows:`` claim of ``step`` that the step contradicts, as messages.

    ``source`` (the program) is needed for ``line KIND == 'code'`` clauses.
    """
    problems = []
    where = f"step {step['index'] + 1} ({step['title']})"
    narrative = step["narrative"]
    for shown in (False, True):
        for claim in parse_expectations(narrative, shown=shown) or []:
            actual = count_events(step["events"], claim.kind, claim.cause)
            if actual != claim.count:
                problems.append(f"{where}: expected {claim.count} {claim.what}, got {actual}")
        for result in evaluate(parse_claims(narrative, shown=shown), step, source):
            if not result.passed:
                problems.append(f"{where}: expected {result.clause.text}, got {result.measured}")
    return problems


def first_expectation(narrative: str) -> int | None:
    """Where the first ``Expect:`` line of ``narrative`` starts, or None when it has none."""
    found = _EXPECT_LINE.search(narrative)
    return None if found is None else found.start()


def without_expectations(narrative: str) -> str:
    """``narrative`` without its ``Expect:`` lines: the question, before the reader answers it.

    ``Shows:`` lines stay: they state what a setup step does, and are never asked."""
    return _EXPECT_LINE.sub("", narrative).strip()
