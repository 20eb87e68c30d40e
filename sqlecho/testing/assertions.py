"""The assertions of :mod:`sqlecho.testing`: exact statements, counts, none at all.

Every failure is a :class:`SQLAssertionError` whose message holds what is needed to fix
the test: a unified diff of expected against captured SQL (for ``assert_sql``) and the
numbered list of captured statements with the line that sent each.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType

from .._record.capture import KINDS as COUNTED
from .._record.capture import Capture
from .._record.recorder import Event
from .._transcript.schema import TRANSACTION_EVENTS
from .._transcript.sql import fold
from .listing import (
    EmptyCaptureWarning,
    SQLAssertionError,
    heading,
    listing,
    params_text,
    prefix,
    require_capture,
    warn_if_empty,
)

__all__ = ["KINDS", "AtLeast", "AtMost", "NoSQL", "assert_count", "assert_sql", "no_sql"]

KINDS = ("total", *COUNTED)
"""What ``assert_count`` counts: statement kinds (see ``Capture.count``), transaction events, the total."""

_WILDCARD = "..."
# The params of an expectation that does not check them.
_UNCHECKED = object()


# -- assert_sql -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Expected:
    """One expected statement: folded SQL (``...`` matches any text) and its parameters."""

    sql: str
    params: object  # _UNCHECKED, or compared with == (so unittest.mock.ANY works inside)
    pattern: re.Pattern[str] | None

    def matches(self, record: Event) -> bool:
        sql = fold(record["statement"])
        if self.pattern is not None and self.pattern.fullmatch(sql) is None:
            return False
        if self.pattern is None and sql != self.sql:
            return False
        return self.params is _UNCHECKED or self.params == record["parameters"]


def _lists(value: object) -> object:
    """Tuples as lists, the way captured parameters are stored."""
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    return value


def _expectations(expected: str | Sequence[str], params: Sequence[object] | None) -> list[_Expected]:
    if isinstance(expected, str):
        expected = [expected]
    if params is not None and len(params) != len(expected):
        raise TypeError(
            f"assert_sql(): params needs one entry per expected statement "
            f"({len(expected)} statements, {len(params)} params)"
        )
    result = []
    for index, statement in enumerate(expected):
        if not isinstance(statement, str):
            raise TypeError(f"assert_sql(): expected statements are strings, not {type(statement).__name__}")
        sql = fold(statement)
        pattern = None
        if _WILDCARD in sql:
            pattern = re.compile(".*".join(re.escape(part) for part in sql.split(_WILDCARD)), re.DOTALL)
        result.append(_Expected(sql, _UNCHECKED if params is None else _lists(params[index]), pattern))
    return result


def _line(sql: str, params: object) -> str:
    return sql if params is _UNCHECKED else f"{sql}  -- params: {params_text(params)}"


def _match_any_order(expected: list[_Expected], records: list[Event]) -> dict[int, int]:
    """A largest pairing of expected to captured statements (captured index -> expected index).

    A bipartite matching (augmenting paths), so that ``SELECT ...`` does not take the
    statement that only an exact expectation could match.
    """
    owner: dict[int, int] = {}  # captured -> expected

    def assign(exp: int, visited: set[int]) -> bool:
        for cap, record in enumerate(records):
            if cap in visited or not expected[exp].matches(record):
                continue
            visited.add(cap)
            if cap not in owner or assign(owner[cap], visited):
                owner[cap] = exp
                return True
        return False

    for exp in range(len(expected)):
        assign(exp, set())
    return owner


def assert_sql(
    cap: Capture,
    expected: str | Sequence[str],
    *,
    params: Sequence[object] | None = None,
    ordered: bool = True,
    info: str | None = None,
) -> None:
    """Assert that ``cap`` captured exactly the ``expected`` statements.

    Whitespace is folded on both sides before comparing; ``...`` in an expected
    statement matches any text (``"SELECT ... FROM hero WHERE hero.id = ?"``).
    BEGIN/COMMIT/ROLLBACK are not statements here (see ``Capture.statements``).

    Args:
        cap: the capture to check.
        expected: the statements, in order; a string is one statement.
        params: the parameters of each expected statement, in the same order: a list
            (tuple) for positional, a dict for named parameters, a list of those for
            executemany. ``unittest.mock.ANY`` matches anything, also inside a list.
        ordered: False to accept the statements in any order.
        info: a message of yours, shown first in the failure.

    Raises:
        SQLAssertionError: with a unified diff and the numbered captured statements.
    """
    __tracebackhide__ = True
    require_capture(cap, "assert_sql")
    expectations = _expectations(expected, params)
    records = cap.sql_events
    checked = params is not None
    if ordered:
        if len(records) == len(expectations) and all(
            e.matches(r) for e, r in zip(expectations, records, strict=True)
        ):
            warn_if_empty(cap, "assert_sql")
            return
        # A captured statement that its expectation matches is shown as the expected
        # line, so that the diff marks real differences, not what a ``...`` stood for.
        shown = [
            _shown(record, expectations, checked, index if index < len(expectations) else None)
            for index, record in enumerate(records)
        ]
        wanted = [_line(e.sql, e.params) for e in expectations]
    else:
        owner = _match_any_order(expectations, records)
        if len(owner) == len(records) == len(expectations):
            warn_if_empty(cap, "assert_sql")
            return
        shown = sorted(_shown(r, expectations, checked, owner.get(i)) for i, r in enumerate(records))
        wanted = sorted(_line(e.sql, e.params) for e in expectations)
    order = "" if ordered else " (in any order)"
    diff = "\n".join(difflib.unified_diff(wanted, shown, "expected", "captured", lineterm=""))
    raise SQLAssertionError(
        f"{prefix(info)}captured SQL differs from expected{order}: "
        f"{len(expectations)} expected, {len(records)} captured\n"
        f"{diff}\n\n{heading(len(records))}\n{listing(cap, params=checked)}"
    )


def _shown(record: Event, expectations: list[_Expected], checked: bool, paired: int | None) -> str:
    """The diff line for a captured statement (``paired``: index of its expectation)."""
    if paired is not None and expectations[paired].matches(record):
        return _line(expectations[paired].sql, expectations[paired].params)
    sql = fold(record["statement"])
    for expectation in expectations:
        if expectation.pattern is not None and expectation.pattern.fullmatch(sql):
            sql = expectation.sql
            break
    return _line(sql, record["parameters"] if checked else _UNCHECKED)


# -- assert_count ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AtMost:
    """A count of ``n`` or fewer: ``assert_count(cap, select=AtMost(2))``."""

    n: int
    """The bound, included."""

    def __post_init__(self) -> None:
        _check_count("AtMost", self.n)

    def allows(self, count: int) -> bool:
        """Whether ``count`` is within the bound."""
        return count <= self.n

    def __str__(self) -> str:
        return f"at most {self.n}"


@dataclass(frozen=True)
class AtLeast:
    """A count of ``n`` or more: ``assert_count(cap, commit=AtLeast(1))``."""

    n: int
    """The bound, included."""

    def __post_init__(self) -> None:
        _check_count("AtLeast", self.n)

    def allows(self, count: int) -> bool:
        """Whether ``count`` is within the bound."""
        return count >= self.n

    def __str__(self) -> str:
        return f"at least {self.n}"


def _check_count(name: str, n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise TypeError(f"{name}() takes a count (an int >= 0), not {n!r}")


def assert_count(
    cap: Capture,
    *,
    total: int | AtMost | AtLeast | None = None,
    info: str | None = None,
    **kinds: int | AtMost | AtLeast,
) -> None:
    """Assert how many statements of each kind ``cap`` captured.

    ``assert_count(cap, select=1, insert=AtMost(2))``: exactly one SELECT and at most two
    INSERTs; kinds not named are not checked. ``total`` counts every statement;
    ``begin``, ``commit`` and ``rollback`` count transactions (see ``Capture.count``).
    Passing on a capture that most likely watched the wrong engine warns
    (:class:`EmptyCaptureWarning`). ``info``: a message of yours, shown first in the failure.

    Raises:
        TypeError: for a kind not in :data:`KINDS` (``selects=0`` would otherwise pass).
        SQLAssertionError: naming each count that differs, with the numbered captured
            statements.
    """
    __tracebackhide__ = True
    require_capture(cap, "assert_count")
    wanted: dict[str, int | AtMost | AtLeast] = dict(kinds)
    if total is not None:
        wanted["total"] = total
    if not wanted:
        raise TypeError("assert_count() needs at least one count, e.g. assert_count(cap, select=1)")
    check_kinds(wanted, "assert_count")
    problems = []
    for kind, expected in wanted.items():
        if not isinstance(expected, AtMost | AtLeast):
            _check_count(f"assert_count(): {kind}", expected)
        count = cap.count(None if kind == "total" else kind)
        ok = expected.allows(count) if isinstance(expected, AtMost | AtLeast) else count == expected
        if not ok:
            problems.append(f"  {kind}: expected {expected}, captured {count}")
    if not problems:
        warn_if_empty(cap, "assert_count")
        return
    statements = cap.count()
    raise SQLAssertionError(
        f"{prefix(info)}statement counts differ from expected:\n"
        + "\n".join(problems)
        + f"\n\n{heading(statements)}\n{listing(cap, transactions=_transactions(wanted))}"
    )


def check_kinds(wanted: Mapping[str, object], function: str) -> None:
    """TypeError for a count of an unknown kind, naming the valid ones."""
    unknown = [kind for kind in wanted if kind not in KINDS]
    if unknown:
        raise TypeError(
            f"{function}() got an unknown kind {unknown[0]!r}; the kinds it counts are: {', '.join(KINDS)}"
        )


def _transactions(wanted: Mapping[str, object]) -> bool:
    """Show BEGIN/COMMIT/ROLLBACK in the listing when the test counts them."""
    return any(kind in TRANSACTION_EVENTS for kind in wanted)


# -- no_sql ---------------------------------------------------------------------------------


class NoSQL:
    """Context manager of :func:`no_sql`: fails on exit if the block sent any statement."""

    def __init__(self, *targets: object, info: str | None = None) -> None:
        self._capture = Capture(*targets)
        self._info = info

    def __enter__(self) -> Capture:
        return self._capture.__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        self._capture.__exit__(exc_type, exc, tb)
        # An exception from the block says more than our complaint would: let it through.
        if exc_type is None and self._capture.count():
            count = self._capture.count()
            raise SQLAssertionError(
                f"{prefix(self._info)}expected no SQL in this block, but it sent {count} statement{'' if count == 1 else 's'}:\n"
                f"{listing(self._capture)}"
            )
        if exc_type is None:
            _warn_if_elsewhere(self._capture, "no_sql")


def _warn_if_elsewhere(cap: Capture, function: str) -> None:
    """no_sql() passing while other engines ran queries: the block most likely used another engine."""
    if cap.elsewhere:
        warnings.warn(
            f"{function}() passed on {cap.target}, while other engines ran {cap.elsewhere} "
            f"statement{'' if cap.elsewhere == 1 else 's'} in the block: is the code under test "
            "using another engine?",
            EmptyCaptureWarning,
            stacklevel=3,
        )


def no_sql(target: object, *more: object, info: str | None = None) -> NoSQL:
    """Fail if the block sends any SQL: "this must come from the identity map".

    ``with no_sql(session): hero = session.get(Hero, 1)``. Transaction control alone
    (BEGIN without a statement) does not count. Takes the same targets as
    :func:`sqlecho.capture`; the ``as`` target is the Capture. Passing while other engines ran
    queries in the block warns (:class:`EmptyCaptureWarning`): most likely the wrong engine.
    ``info``: a message of yours, shown first in the failure.
    """
    return NoSQL(target, *more, info=info)


# -- counts asserted on exit ----------------------------------------------------------------------


class _CountingCapture(Capture):
    """A Capture that asserts counts when its block ends (``sql_capture(select=1)``)."""

    def __init__(
        self,
        targets: tuple[object, ...],
        strict: bool,
        counts: dict[str, int | AtMost | AtLeast],
        info: str | None,
    ) -> None:
        super().__init__(*targets, strict=strict)
        self._counts = counts
        self._info = info

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        super().__exit__(exc_type, exc, tb)
        if exc_type is None:
            assert_count(self, info=self._info, **self._counts)


def counting_capture(
    targets: tuple[object, ...],
    strict: bool,
    counts: dict[str, int | AtMost | AtLeast],
    info: str | None = None,
) -> Capture:
    """A Capture of ``targets`` that, given ``counts``, asserts them with ``assert_count`` on exit
    (``info``: shown first in its failure).

    Unknown kinds fail here, before the block runs.
    """
    if not counts:
        return Capture(*targets, strict=strict)
    check_kinds(counts, "sql_capture")
    return _CountingCapture(targets, strict, counts, info)
