"""The pytest plugin (entry point ``pytest11``): the ``sql_capture`` fixture, a report, and an
automatic N+1 check.

    def test_one_query(sql_capture, engine):
        with sql_capture(engine) as cap:
            ...
        assert cap.count("select") == 1

    def test_assert_on_exit(sql_capture):
        with sql_capture(select=1, insert=0):   # every engine; the counts are checked on exit
            ...

With ``--sqlecho-report`` (or ``sqlecho_report = true`` in the ini file), a failing
test's report gets a "Captured SQL" section listing what each of its captures saw.

With ``--sqlecho-no-n-plus-one`` (or ``sqlecho_no_n_plus_one = true``, or the marker
``@pytest.mark.sqlecho_no_n_plus_one`` on a test), the call of each test (not its fixtures) is
captured on every engine and fails on an N+1, as ``assert_no_n_plus_one`` would.

File paths in listings are relative to pytest's rootdir.

pytest loads this module at the start of every run of every project that installs sqlecho, so
it imports nothing heavy at module level: SQLAlchemy's ORM and SQLModel are imported by the
fixture, when a test uses it (as datasette's plugin does).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._record.capture import Capture

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_unconfigure",
    "sql_capture",
]

_CAPTURES = pytest.StashKey["list[Capture]"]()
_MARKER = "sqlecho_no_n_plus_one"
_PREVIOUS_ROOT = pytest.StashKey["str | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sqlecho", "sqlecho: SQL capture for tests")
    group.addoption(
        "--sqlecho-report",
        action="store_true",
        default=None,
        help="show the SQL captured with the sql_capture fixture in the report of failing tests",
    )
    parser.addini(
        "sqlecho_report",
        type="bool",
        default=False,
        help="show the SQL captured with the sql_capture fixture in the report of failing tests",
    )
    group.addoption(
        "--sqlecho-no-n-plus-one",
        action="store_true",
        default=None,
        help="fail every test whose call runs an N+1 (a load repeated one object at a time)",
    )
    parser.addini(
        "sqlecho_no_n_plus_one",
        type="bool",
        default=False,
        help="fail every test whose call runs an N+1 (a load repeated one object at a time)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # paths imports neither SQLAlchemy nor the ORM: cheap for every run.
    from .._record import paths

    config.stash[_PREVIOUS_ROOT] = paths.set_root(config.rootpath)
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(threshold=2): fail the test when its call runs an N+1 (sqlecho)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    # Put the root back: a run inside a run (pytester) must not change the outer run's paths.
    from .._record import paths

    if _PREVIOUS_ROOT in config.stash:
        paths.set_root(config.stash[_PREVIOUS_ROOT])


def _n_plus_one_threshold(item: pytest.Item) -> int | None:
    """The N+1 threshold to check this test with, or None when the check is off for it."""
    marker = item.get_closest_marker(_MARKER)
    if marker is not None:
        return int(marker.kwargs.get("threshold", marker.args[0] if marker.args else 2))
    option = item.config.getoption("sqlecho_no_n_plus_one")
    enabled = bool(option) if option is not None else bool(item.config.getini("sqlecho_no_n_plus_one"))
    return 2 if enabled else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    threshold = _n_plus_one_threshold(item)
    if threshold is None:
        return (yield)
    from .._record.capture import capture
    from .nplusone import assert_no_n_plus_one

    with capture() as cap:
        result = yield
    item.stash.setdefault(_CAPTURES, []).append(cap)
    assert_no_n_plus_one(cap, threshold)
    return result


@pytest.fixture
def sql_capture(request: pytest.FixtureRequest) -> Iterator[Callable[..., Capture]]:
    """``sql_capture(engine)``: a :func:`sqlecho.capture` context manager for this test.

    Takes what ``capture()`` takes (engines, connections, sessions; none: every engine, and
    ``strict``). Counts as keywords (``sql_capture(select=1, insert=0)``) are asserted when the
    block ends, like ``assert_count``. Captures still open when the test ends are closed, so no
    listener outlives the test.
    """
    from .assertions import counting_capture

    captures = request.node.stash.setdefault(_CAPTURES, [])

    def factory(*targets: Any, strict: bool = False, **counts: Any) -> Capture:
        cap = counting_capture(targets, strict, counts)
        captures.append(cap)
        return cap

    yield factory
    for cap in captures:
        if cap.active:
            cap.__exit__(None, None, None)


def _enabled(config: pytest.Config) -> bool:
    option = config.getoption("sqlecho_report")
    return bool(option) if option is not None else bool(config.getini("sqlecho_report"))


def report_text(captures: list[Capture]) -> str:
    """What the report section shows: each capture's statements with their lines."""
    from .listing import heading, listing

    parts = []
    for number, cap in enumerate(captures, 1):
        title = f"sql_capture #{number}: " if len(captures) > 1 else ""
        parts.append(f"{title}{heading(cap.count())}\n{listing(cap, params=True, transactions=True)}")
    return "\n\n".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    captures = item.stash.get(_CAPTURES, [])
    if report.failed and captures and _enabled(item.config):
        report.sections.append((f"Captured SQL {report.when}", report_text(captures)))
    return report
