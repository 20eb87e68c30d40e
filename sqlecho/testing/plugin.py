"""The pytest plugin (entry point ``pytest11``): the ``sql_capture`` fixture and a report.

    def test_one_query(sql_capture, engine):
        with sql_capture(engine) as cap:
            ...
        assert cap.count("select") == 1

With ``--sqlecho-report`` (or ``sqlecho_report = true`` in the ini file), a failing
test's report gets a "Captured SQL" section listing what each of its captures saw.

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

__all__ = ["pytest_addoption", "pytest_runtest_makereport", "sql_capture"]

_CAPTURES = pytest.StashKey["list[Capture]"]()


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


@pytest.fixture
def sql_capture(request: pytest.FixtureRequest) -> Iterator[Callable[..., Capture]]:
    """``sql_capture(engine)``: a :func:`sqlecho.capture` context manager for this test.

    Takes what ``capture()`` takes (engines, connections, sessions). Captures still
    open when the test ends are closed, so no listener outlives the test.
    """
    from .._record.capture import capture

    captures = request.node.stash.setdefault(_CAPTURES, [])

    def factory(target: Any, *more: Any) -> Capture:
        cap = capture(target, *more)
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
