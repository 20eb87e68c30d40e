"""N+1 detection: the same SELECT sent again and again from one line of code.

The classic case is a loop over query results that touches a lazy relationship: one
SELECT for the list, then one per item. In a capture it shows as one statement text
repeated with different parameters, all caused by the same line. Grouping by text *and*
line keeps two deliberate ``session.get()`` calls on two lines from counting.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from .._record.capture import Capture
from .._transcript.sql import fold, kind_of
from .listing import SQLAssertionError, heading, listing, location_of, require_capture

__all__ = ["NPlusOne", "assert_no_n_plus_one", "n_plus_one_report"]

_LAZY = re.compile(r"lazy load (\w+)\.(\w+)$")


@dataclass(frozen=True)
class NPlusOne:
    """One statement that ran ``count`` times from one line: an N+1 pattern."""

    statement: str
    """The SQL, whitespace folded."""
    count: int
    """How many times it ran from that line."""
    file: str | None
    """File of the line that sent it (None: no caller found)."""
    line: int | None
    """The line that sent it."""
    cause: str
    """Why SQLAlchemy sent it, e.g. ``lazy load Hero.team`` (the first one's cause)."""

    @property
    def where(self) -> str:
        return location_of(self.file, self.line)

    def advice(self) -> str:
        """How to load everything with one query instead."""
        lazy = _LAZY.match(self.cause)
        if lazy is not None:
            owner, attribute = lazy.groups()
            return (
                f"load {owner}.{attribute} together with the {owner} rows: "
                f"select({owner}).options(selectinload({owner}.{attribute}))"
            )
        if self.cause.startswith("load expired"):
            return (
                "each object reloads its expired attributes one by one: re-query them all at once, "
                "avoid expiring them (Session(expire_on_commit=False)), "
                "or for a relationship use selectinload()"
            )
        return "run one query for all the rows (WHERE ... IN (...)), or for a relationship use selectinload()"

    def __str__(self) -> str:
        return (
            f"{self.where}: the same SELECT ran {self.count} times ({self.cause})\n"
            f"    {self.statement}\n"
            f"  fix: {self.advice()}"
        )


def n_plus_one_report(cap: Capture, threshold: int = 2) -> list[NPlusOne]:
    """Every SELECT that ran ``threshold`` or more times from the same line.

    Args:
        cap: the capture to inspect.
        threshold: runs of one statement from one line that count as N+1 (>= 2).

    Returns:
        The findings, in the order their statement first ran; empty when there is none.
    """
    require_capture(cap, "n_plus_one_report")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 2:
        raise ValueError(f"threshold must be an int of at least 2, not {threshold!r}")
    groups: dict[tuple[str, str | None, int | None], list[str]] = {}
    for record in cap.sql_events:
        if kind_of(record["statement"]) != "select":
            continue
        key = (fold(record["statement"]), record["file"], record["line"])
        groups.setdefault(key, []).append(record["cause"])
    return [
        NPlusOne(statement, len(causes), file, line, causes[0])
        for (statement, file, line), causes in groups.items()
        if len(causes) >= threshold
    ]


def assert_no_n_plus_one(cap: Capture, threshold: int = 2) -> None:
    """Fail when a SELECT ran ``threshold`` or more times from one line (see the report).

    Raises:
        SQLAssertionError: naming each repeated statement, how often and where it ran,
            and how to load it up front (``selectinload``).
    """
    __tracebackhide__ = True
    findings = n_plus_one_report(cap, threshold)
    if findings:
        found = textwrap.indent("\n".join(str(finding) for finding in findings), "  ")
        raise SQLAssertionError(
            f"N+1 queries: {len(findings)} statement{'' if len(findings) == 1 else 's'} "
            f"repeated from one line\n{found}\n\n{heading(cap.count())}\n{listing(cap)}"
        )
