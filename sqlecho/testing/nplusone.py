"""N+1 detection: one load per object where one query for all of them would do.

The classic case is a loop over query results that touches a lazy relationship: one SELECT for
the list, then one per item. Findings are grouped per transaction (three requests that each load
one object are not an N+1), and by what was loaded:

- lazy loads and loads of expired or deferred attributes, by relationship or class, wherever
  they ran from (a response serialiser in a framework's thread included), naming every object;
- the same explicit query repeated from one line (a query in a loop).

An explicit ``refresh()`` or ``Session.get()`` is never a finding: the code asked for exactly
that object, and the fix is not a loader option.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from .._record.capture import Capture
from .._record.recorder import Event
from .._transcript.counting import kind_of
from .._transcript.sql import fold
from .listing import SQLAssertionError, heading, listing, location_of, require_capture

__all__ = ["NPlusOne", "assert_no_n_plus_one", "n_plus_one_report"]

_LAZY = re.compile(r"lazy load (\w+)\.(\w+)$")
_DEFERRED = re.compile(r"load deferred (\w+)\.(\w+)$")
_EXPIRED = re.compile(r"load expired (\w+)#\d+$")


@dataclass(frozen=True)
class NPlusOne:
    """One kind of load that ran ``count`` times in one transaction: an N+1 pattern."""

    statement: str
    """The SQL, whitespace folded."""
    count: int
    """How many times it ran."""
    file: str | None
    """File of the line that sent the first one (None: no caller found)."""
    line: int | None
    """That line."""
    cause: str
    """Why SQLAlchemy sent it: ``lazy load Hero.team``, ``load expired Hero`` (the class, for all
    its objects), or ``query``."""
    objects: tuple[str, ...] = ()
    """Labels of the objects loaded one by one (``Hero#1``...), in order; empty for queries."""
    located: str | None = None
    """``"parent rows"`` when no line of the user's code sent the loads, and ``file:line`` is
    where the objects they load for were loaded."""

    @property
    def where(self) -> str:
        """``file:line``, said to be where the parent rows were loaded when that is what it is."""
        where = location_of(self.file, self.line)
        return f"{where} (where the parent rows were loaded)" if self.located == "parent rows" else where

    def advice(self) -> str:
        """How to load everything with one query instead, for this cause."""
        lazy = _LAZY.match(self.cause)
        if lazy is not None:
            owner, attribute = lazy.groups()
            return (
                f"load {owner}.{attribute} together with the {owner} rows: "
                f"select({owner}).options(selectinload({owner}.{attribute}))"
            )
        deferred = _DEFERRED.match(self.cause)
        if deferred is not None:
            owner, attribute = deferred.groups()
            return f"load the deferred column up front: select({owner}).options(undefer({owner}.{attribute}))"
        if self.cause.startswith("load expired"):
            return (
                "each object reloads its expired attributes one by one (commit() expires them): "
                "read what you need before the commit, re-query them all at once, "
                "or use Session(expire_on_commit=False)"
            )
        return "run one query for all the rows (WHERE ... IN (...)) instead of one per row"

    def __str__(self) -> str:
        what = "the same SELECT" if self.cause == "query" else self.cause
        objects = f" for {', '.join(self.objects)}" if self.objects else ""
        return (
            f"{self.where}: {what} ran {self.count} times{objects}\n"
            f"    {self.statement}\n"
            f"  fix: {self.advice()}"
        )


def _key(record: Event, transaction: int) -> tuple[object, ...] | None:
    """What groups ``record`` with its repetitions; None for a statement that never counts."""
    cause = record["cause"]
    if record.get("via") == "get" or cause.startswith("refresh"):
        return None  # the code asked for this one object
    expired = _EXPIRED.match(cause)
    if expired is not None:
        return (transaction, f"load expired {expired.group(1)}", fold(record["statement"]))
    if cause.startswith(("lazy load", "load deferred")):
        return (transaction, cause, fold(record["statement"]))
    return (transaction, cause, fold(record["statement"]), record["file"], record["line"])


def n_plus_one_report(cap: Capture, threshold: int = 2) -> list[NPlusOne]:
    """Every load that ran ``threshold`` or more times in one transaction (see the module).

    Args:
        cap: the capture to inspect.
        threshold: repetitions that count as N+1 (>= 2).

    Returns:
        The findings, in the order their statement first ran; empty when there is none.
    """
    require_capture(cap, "n_plus_one_report")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 2:
        raise ValueError(f"threshold must be an int of at least 2, not {threshold!r}")
    groups: dict[tuple[object, ...], list[Event]] = {}
    transaction = 0
    for record in cap.events:
        if record["kind"] == "begin":
            transaction += 1
        if record["kind"] != "sql" or kind_of(record["statement"]) != "select":
            continue
        key = _key(record, transaction)
        if key is not None:
            groups.setdefault(key, []).append(record)
    findings = []
    for key, records in groups.items():
        if len(records) < threshold:
            continue
        first = records[0]
        objects = tuple(dict.fromkeys(r["object"] for r in records if r.get("object")))
        findings.append(
            NPlusOne(
                fold(first["statement"]),
                len(records),
                first["file"],
                first["line"],
                str(key[1]),
                objects,
                first.get("located"),
            )
        )
    return findings


def assert_no_n_plus_one(cap: Capture, threshold: int = 2) -> None:
    """Fail when a load ran ``threshold`` or more times in one transaction (see the report).

    Raises:
        SQLAssertionError: naming each repeated load, how often, for which objects, where it
            ran, and how to load everything up front.
    """
    __tracebackhide__ = True
    findings = n_plus_one_report(cap, threshold)
    if findings:
        found = textwrap.indent("\n".join(str(finding) for finding in findings), "  ")
        raise SQLAssertionError(
            f"N+1 queries: {len(findings)} load{'' if len(findings) == 1 else 's'} "
            f"repeated one object at a time\n{found}\n\n{heading(cap.count())}\n{listing(cap)}"
        )
