"""Unused eager loads: a relationship loaded up front that nothing read (the opposite of an N+1).

    with capture(session) as cap:
        heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()
        names = [hero.name for hero in heroes]      # hero.team never read
    assert_no_unused_eager_loads(cap)               # fails: the selectin SELECT was for nothing

An eager load is ``selectinload``, ``joinedload``, ``subqueryload``, or a relationship declared
``lazy="selectin"``, ``"joined"`` or ``"subquery"``. It is unused when the program read that
relationship of none of the objects it loaded it for, inside the capture: in any thread (a
response serialiser's, a template's ``{{ hero.team.name }}``, pydantic's ``from_attributes``
all read through the attribute). Reads after the capture's block do not count.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .._record.capture import Capture, analysed_events, eager_loads
from .._record.eager import EagerLoad
from .._record.recorder import Event
from .._transcript.sql import fold
from .listing import SQLAssertionError, heading, listing, location_of, prefix, require_capture, warn_if_empty

__all__ = ["UnusedEagerLoad", "assert_no_unused_eager_loads", "unused_eager_loads"]

_OPTIONS = {"selectin": "selectinload", "joined": "joinedload", "subquery": "subqueryload"}
_SHOWN = 5  # objects named in a message; more are counted


@dataclass(frozen=True)
class UnusedEagerLoad:
    """A relationship that a query loaded up front for some objects, and nothing read."""

    relationship: str
    """``Hero.team``."""
    loader: str
    """How it was loaded: ``"selectinload"``, ``"joinedload"`` or ``"subqueryload"``."""
    default: bool
    """True when the relationship's own ``lazy=`` asks for that loader (no option in the query)."""
    statement: str
    """The SQL it cost, whitespace folded: the eager SELECT, or for a join the query that joins."""
    file: str | None
    """File of the line that ran the query (None: no caller found)."""
    line: int | None
    """That line."""
    objects: tuple[str, ...] = ()
    """Labels of the objects it was loaded for (``Hero#1``...)."""

    @property
    def where(self) -> str:
        """``file:line`` of the query."""
        return location_of(self.file, self.line)

    def advice(self) -> str:
        """What to change so that the query does not load it."""
        owner = self.relationship.split(".", 1)[0]
        if self.default:
            declared = self.loader.removesuffix("load")
            return (
                f"{self.relationship} is declared lazy={declared!r}: add "
                f".options(lazyload({self.relationship})) to this query, or declare it lazy='select' "
                f"if most queries do not read it"
            )
        cost = "joins its table" if self.loader == "joinedload" else "sends a SELECT"
        return f"drop {self.loader}({self.relationship}) from this select({owner}) (it {cost} for nothing)"

    def __str__(self) -> str:
        shown = ", ".join(self.objects[:_SHOWN])
        if len(self.objects) > _SHOWN:
            shown += f" and {len(self.objects) - _SHOWN} more"
        how = f"lazy={self.loader.removesuffix('load')!r}" if self.default else f"{self.loader}()"
        return (
            f"{self.where}: {self.relationship} was loaded by {how} for {shown}, and nothing read it\n"
            f"    {self.statement}\n"
            f"  fix: {self.advice()}"
        )


def unused_eager_loads(cap: Capture) -> list[UnusedEagerLoad]:
    """Every eager load of ``cap`` whose relationship the program read for none of its objects
    inside the capture (see the module).

    One finding per relationship, loader and line of the query (a query run in a loop is one).

    Returns:
        The findings, in the order the loads ran; empty when there is none.
    """
    require_capture(cap, "unused_eager_loads")
    events = analysed_events(cap)
    grouped: dict[tuple[str, str, str | None, int | None], list[tuple[EagerLoad, Event]]] = {}
    for load in eager_loads(cap):
        record: Event = events[load.statement] if 0 <= load.statement < len(events) else {}
        key = (load.relationship, load.loader, record.get("file"), record.get("line"))
        grouped.setdefault(key, []).append((load, record))
    findings = []
    for (relationship, loader, file, line), members in grouped.items():
        loads = [load for load, _record in members]
        if any(load.used for load in loads):
            continue
        first, record = members[0]
        objects = tuple(dict.fromkeys(label for load in loads for label in load.objects))
        findings.append(
            UnusedEagerLoad(
                relationship,
                _OPTIONS[loader],
                first.default,
                fold(record.get("statement", "")),
                file,
                line,
                objects,
            )
        )
    return findings


def assert_no_unused_eager_loads(cap: Capture, *, info: str | None = None) -> None:
    """Fail when an eager load of ``cap`` loaded a relationship that nothing read.

    Args:
        cap: the capture to check.
        info: a message of yours, shown first in the failure.

    Raises:
        SQLAssertionError: naming each such relationship, how it was loaded, for which objects,
            the query's line and SQL, and what to drop.
    """
    __tracebackhide__ = True
    require_capture(cap, "assert_no_unused_eager_loads")
    findings = unused_eager_loads(cap)
    if findings:
        found = textwrap.indent("\n".join(str(finding) for finding in findings), "  ")
        raise SQLAssertionError(
            f"{prefix(info)}unused eager loads: {len(findings)} relationship"
            f"{'' if len(findings) == 1 else 's'} loaded up front and never read\n{found}\n\n"
            f"{heading(cap.count())}\n{listing(cap)}"
        )
    warn_if_empty(cap, "assert_no_unused_eager_loads")
