"""N+1 detection: one load per object where one query for all of them would do.

The classic case is a loop over query results that touches a lazy relationship: one SELECT for
the list, then one per item. What counts:

- lazy loads and loads of expired or deferred attributes of objects that **one query** loaded,
  grouped by relationship (or class), wherever they ran from (a response serialiser in a
  framework's thread included), naming every object. Objects of separate queries (two requests,
  two units of work) are never grouped, whatever the transactions in between;
- the same explicit query (``Session.get()`` included) sent over and over from one line in one
  call of a function: a loop.

A repeat across distinct lines that is not a loop (two objects read on two lines) is not one,
and an explicit ``refresh()`` never is: the code asked for exactly that object.

Findings can be allowed (:func:`allow_n_plus_one`): by relationship or class (``"Hero.team"``,
``"Hero"``), by statement (``"SELECT team.* ..."``, ``...`` or ``*`` match any text) or by request
(``"GET /heroes/*"``: the loads made while a test client sent a matching request, in a
``capture_requests`` capture, the automatic check or any other capture).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import TracebackType

from .._record.capture import Capture, analysed_events
from .._record.recorder import Event
from .._record.watch import allowances
from .._transcript.counting import kind_of
from .._transcript.sql import fold
from .inflight import requests_tracked
from .listing import SQLAssertionError, heading, listing, location_of, prefix, require_capture, warn_if_empty

__all__ = [
    "AllowNPlusOne",
    "NPlusOne",
    "allow_n_plus_one",
    "assert_no_n_plus_one",
    "collect_findings",
    "has_request_rules",
    "n_plus_one_report",
    "rule",
    "set_test_rules",
]

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
    lines: tuple[str, ...] = field(default=(), compare=False)
    """Every ``file:line`` the loads ran from, in order (one loop may load from several lines)."""

    @property
    def where(self) -> str:
        """``file:line`` (every one), said to be where the parent rows were loaded when that is what
        it is."""
        where = ", ".join(self.lines) if len(self.lines) > 1 else location_of(self.file, self.line)
        return f"{where} (where the parent rows were loaded)" if self.located == "parent rows" else where

    @property
    def fingerprint(self) -> str:
        """What identifies this finding in a baseline file: the cause, the file and the SQL (no line
        numbers, which move with every edit above them)."""
        return f"{self.cause} | {self.file or '?'} | {self.statement}"

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
        if self.cause.startswith("get "):
            model = self.cause.removeprefix("get ")
            return (
                f"load all the {model} rows with one query, select({model}).where({model}.id.in_(ids)), "
                f"or reach them through a relationship loaded with selectinload"
            )
        if self.cause.startswith("load expired"):
            return (
                "each object reloads its expired attributes one by one (commit() expires them): "
                "read what you need before the commit, re-query them all at once, "
                "or use Session(expire_on_commit=False)"
            )
        return "run one query for all the rows (WHERE ... IN (...)) instead of one per row"

    def __str__(self) -> str:
        what = "the same SELECT" if self.cause == "query" else self.cause
        if self.cause.startswith("get "):
            what = f"Session.get({self.cause.removeprefix('get ')}, ...)"
        objects = f" for {', '.join(self.objects)}" if self.objects else ""
        return (
            f"{self.where}: {what} ran {self.count} times{objects}\n"
            f"    {self.statement}\n"
            f"  fix: {self.advice()}"
        )


# -- allow rules -------------------------------------------------------------------------------

_RELATION = re.compile(r"^(\w+)(?:\.(\w+))?$")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class _Rule:
    """One allow rule: a relationship or class, a statement pattern or a request pattern."""

    text: str
    kind: str  # "relation", "statement" or "request"
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def allows(self, finding: NPlusOne, requests: tuple[str, ...]) -> bool:
        """Whether this rule allows ``finding`` for a load made while ``requests`` were in flight
        (a rule by request: every one of them matches, so that a concurrent request's load is
        never allowed by another's rule)."""
        if self.kind == "relation":
            match = re.search(r"(\w+)(?:\.(\w+)|#\d+)?$", finding.cause)
            owner, attribute = _RELATION.match(self.text).groups()  # type: ignore[union-attr]
            if match is None or match.group(1) != owner:
                return False
            return attribute is None or match.group(2) == attribute
        assert self.pattern is not None
        if self.kind == "statement":
            return self.pattern.fullmatch(finding.statement) is not None
        return bool(requests) and all(self.pattern.fullmatch(request) for request in requests)


def _glob(text: str) -> re.Pattern[str]:
    """``*`` and ``...`` match any text; the rest literally, case folded, whitespace folded."""
    parts = re.split(r"\*|\.\.\.", fold(text))
    return re.compile(".*".join(re.escape(part) for part in parts), re.IGNORECASE | re.DOTALL)


def rule(text: str) -> _Rule:
    """Parse one allow rule (see the module); ValueError with a one-line message when it is none."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"allow_n_plus_one() takes rules such as 'Hero.team', not {text!r}")
    text = text.strip()
    if _RELATION.match(text):
        return _Rule(text, "relation")
    method = text.split(" ", 1)[0]
    if method.upper() in _METHODS and " " in text:
        return _Rule(text, "request", _glob(text))
    return _Rule(text, "statement", _glob(text))


class AllowNPlusOne:
    """Allow findings that match some rules: a block (``with allow_n_plus_one("Hero.team"):``)
    allows the loads that ran inside it, whichever capture saw them and whenever it is checked."""

    def __init__(self, rules: Iterable[str]) -> None:
        self.rules = tuple(rule(text) for text in rules)
        # A rule by request needs to know which request each load served.
        self._by_request = any(item.kind == "request" for item in self.rules)
        self._tracking: list[AbstractContextManager[None]] = []

    def __enter__(self) -> AllowNPlusOne:
        if self._by_request:
            tracking = requests_tracked()
            tracking.__enter__()
            self._tracking.append(tracking)
        allowances().extend(self.rules)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        open_rules = allowances()
        for item in self.rules:
            open_rules.remove(item)
        if self._tracking:
            self._tracking.pop().__exit__(exc_type, exc, tb)


def allow_n_plus_one(*rules: str) -> AllowNPlusOne:
    """Allow the N+1 findings that match ``rules`` for the loads that run inside the block.

    ``"Hero.team"`` (a relationship or deferred column), ``"Hero"`` (every load of that class,
    expired attributes included), a statement (``"SELECT team.* ..."``: ``...`` or ``*`` match any
    text) or a request (``"GET /heroes/*"``: the loads made while an httpx client, FastAPI's
    ``TestClient`` included, sent a matching request). For a whole test, use the marker
    ``@pytest.mark.sqlecho_allow_n_plus_one("Hero.team")``; for every test, the ini list
    ``sqlecho_allow_n_plus_one``.
    """
    if not rules:
        raise TypeError("allow_n_plus_one() needs at least one rule, e.g. allow_n_plus_one('Hero.team')")
    return AllowNPlusOne(rules)


# Rules and baseline fingerprints the pytest plugin sets for the test that runs (marker, ini list,
# baseline file): consulted by every report made meanwhile.
_TEST_RULES: list[_Rule] = []
_TEST_KNOWN: set[str] = set()
# The findings of the reports made since set_test_rules (all of them, allowed or not), and whether
# to allow them all (while a baseline is being written).
_SEEN: list[NPlusOne] = []
_ALLOW_ALL: list[bool] = [False]


def set_test_rules(rules: Iterable[str], known: Iterable[str]) -> list[NPlusOne]:
    """For the pytest plugin: allow ``rules`` and the baseline fingerprints ``known`` from now on
    (until the next call), and stop allowing everything.

    Returns:
        The findings of the reports made since the previous call.
    """
    parsed = [rule(text) for text in rules]
    seen = list(_SEEN)
    _SEEN.clear()
    _TEST_RULES[:] = parsed
    _TEST_KNOWN.clear()
    _TEST_KNOWN.update(known)
    _ALLOW_ALL[0] = False
    return seen


def has_request_rules(rules: Iterable[str]) -> bool:
    """For the pytest plugin: whether some of ``rules`` allow by request (``"GET /legacy/*"``)."""
    return any(rule(text).kind == "request" for text in rules)


def collect_findings(*, allow_all: bool) -> None:
    """For the pytest plugin's baseline update: ``allow_all`` lets every finding pass."""
    _ALLOW_ALL[0] = allow_all


def _allowed(finding: NPlusOne, records: list[Event], request: str | None) -> bool:
    if _ALLOW_ALL[0] or finding.fingerprint in _TEST_KNOWN:
        return True
    # A rule of the test: it allows every load of the finding.
    if any(
        all(item.allows(finding, _requests(record, request)) for record in records) for item in _TEST_RULES
    ):
        return True
    # Rules of a block: every load of the finding ran inside a block with a matching rule.
    return all(
        any(item.allows(finding, _requests(record, request)) for item in record.get("_allowed", ()))
        for record in records
    )


def _requests(record: Event, request: str | None) -> tuple[str, ...]:
    """The requests in flight when ``record`` was sent: those a test client was sending (see
    :mod:`.inflight`), else the one of a ``capture_requests`` capture."""
    in_flight: tuple[str, ...] = record.get("_requests", ())
    if in_flight:
        return in_flight
    return (request,) if request is not None else ()


# -- the report --------------------------------------------------------------------------------


def _model_of_get(statement: str) -> str:
    match = re.search(r"\bFROM\s+\"?(\w+)", statement, re.IGNORECASE)
    return match.group(1) if match else "?"


def _key(record: Event, events: list[Event]) -> tuple[object, ...] | None:
    """What groups ``record`` with its repetitions; None for a statement that never counts.

    Loads go together when their objects came from one query (or from queries sent from one
    site, themselves a loop); an explicit query when it was sent from one site (see
    ``Capture._site``): the same line, through the same lines, in one call. Both only within
    one unit of work (one Session, or outside the ORM one Connection): a loop that opens a
    Session per turn is as many requests, whatever its commits.
    """
    cause = record["cause"]
    if cause.startswith("refresh"):
        return None  # the code asked for this one object
    parent = record.get("_parent")
    parent_site = None if parent is None else events[parent].get("_site")
    expired = _EXPIRED.match(cause)
    unit = record.get("_unit")
    if expired is not None:
        return ("load", f"load expired {expired.group(1)}", parent_site, unit)
    if cause.startswith(("lazy load", "load deferred")):
        return ("load", cause, parent_site, unit)
    if record.get("via") == "get":
        cause = f"get {record.get('entity') or _model_of_get(record['statement'])}"
    return ("query", cause, fold(record["statement"]), record.get("_site"), record.get("_unit"))


def _is_loop(records: list[Event]) -> bool:
    """Some site sent two of them: a loop, not two lines that each load once."""
    seen: set[object] = set()
    for record in records:
        site = record.get("_site")
        if site in seen:
            return True
        seen.add(site)
    return False


def _findings(cap: Capture, threshold: int) -> Iterator[tuple[NPlusOne, list[Event]]]:
    groups: dict[tuple[object, ...], list[Event]] = {}
    events = analysed_events(cap)
    for record in events:
        if record["kind"] != "sql" or kind_of(record["statement"]) != "select":
            continue
        key = _key(record, events)
        if key is not None:
            groups.setdefault(key, []).append(record)
    for key, records in groups.items():
        if len(records) < threshold or not _is_loop(records):
            continue
        first = records[0]
        objects = tuple(dict.fromkeys(r["object"] for r in records if r.get("object")))
        lines = tuple(dict.fromkeys(location_of(r["file"], r["line"]) for r in records))
        finding = NPlusOne(
            fold(first["statement"]),
            len(records),
            first["file"],
            first["line"],
            str(key[1]),
            objects,
            first.get("located"),
            lines,
        )
        yield finding, records


def n_plus_one_report(cap: Capture, threshold: int = 2) -> list[NPlusOne]:
    """Every load repeated ``threshold`` or more times one object at a time (see the module),
    apart from those an allow rule or the baseline allows.

    Args:
        cap: the capture to inspect.
        threshold: repetitions that count as N+1 (>= 2).

    Returns:
        The findings, in the order their statement first ran; empty when there is none.
    """
    require_capture(cap, "n_plus_one_report")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 2:
        raise ValueError(f"threshold must be an int of at least 2, not {threshold!r}")
    request = getattr(cap, "request", None)
    findings = []
    for finding, records in _findings(cap, threshold):
        _SEEN.append(finding)
        if not _allowed(finding, records, request):
            findings.append(finding)
    return findings


def assert_no_n_plus_one(cap: Capture, threshold: int = 2, *, info: str | None = None) -> None:
    """Fail when a load ran ``threshold`` or more times one object at a time (see the report).

    Args:
        cap: the capture to check.
        threshold: repetitions that count as N+1 (>= 2).
        info: a message of yours, shown first in the failure.

    Raises:
        SQLAssertionError: naming each repeated load, how often, for which objects, where it
            ran, and how to load everything up front.
    """
    __tracebackhide__ = True
    require_capture(cap, "assert_no_n_plus_one")
    findings = n_plus_one_report(cap, threshold)
    if findings:
        found = textwrap.indent("\n".join(str(finding) for finding in findings), "  ")
        raise SQLAssertionError(
            f"{prefix(info)}N+1 queries: {len(findings)} load{'' if len(findings) == 1 else 's'} "
            f"repeated one object at a time\n{found}\n\n{heading(cap.count())}\n{listing(cap)}"
        )
    warn_if_empty(cap, "assert_no_n_plus_one")
