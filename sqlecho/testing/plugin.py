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

With ``--sqlecho-no-unused-eager-loads`` (or ``sqlecho_no_unused_eager_loads = true``, or the marker
``@pytest.mark.sqlecho_no_unused_eager_loads``), the same capture fails on an eager load whose
relationship the test's call never read, as ``assert_no_unused_eager_loads`` would.

Allow rules (see ``allow_n_plus_one``): ``@pytest.mark.sqlecho_allow_n_plus_one("Hero.team")`` for a
test, the ini list ``sqlecho_allow_n_plus_one`` for every test. A baseline file
(``--sqlecho-baseline=PATH`` or ``sqlecho_baseline``) lists the N+1 findings each test has today; they
pass, new ones fail. ``--sqlecho-baseline-update`` writes it from the findings of the run.

File paths in listings are relative to pytest's rootdir.

pytest loads this module at the start of every run of every project that installs sqlecho, so
it imports nothing heavy at module level: SQLAlchemy's ORM and SQLModel are imported by the
fixture, when a test uses it (as datasette's plugin does).
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from .._record.capture import Capture
    from .assertions import AtLeast, AtMost

__all__ = [
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
    "pytest_sessionfinish",
    "pytest_unconfigure",
    "sql_capture",
]

_CAPTURES = pytest.StashKey["list[Capture]"]()
_MARKER = "sqlecho_no_n_plus_one"
_ALLOW_MARKER = "sqlecho_allow_n_plus_one"
_EAGER_MARKER = "sqlecho_no_unused_eager_loads"
_PREVIOUS_ROOT = pytest.StashKey["str | None"]()
# nodeid -> fingerprints of its findings, for --sqlecho-baseline-update.
_FOUND = pytest.StashKey["dict[str, list[str]]"]()
_BASELINE = pytest.StashKey["dict[str, list[str]]"]()
# The tracking of requests in flight that a test with rules by request turned on.
_TRACKING = pytest.StashKey[AbstractContextManager[None]]()

# pluggy 1.0 (pytest 7.0 to 7.3) has only old-style hook wrappers; later ones have both, and warn
# when an old-style wrapper raises.
_NEW_STYLE = "wrapper" in inspect.signature(pytest.hookimpl).parameters

_F = TypeVar("_F", bound=Callable[..., object])


def _wrapper(fn: _F) -> _F:
    return pytest.hookimpl(wrapper=True)(fn) if _NEW_STYLE else pytest.hookimpl(hookwrapper=True)(fn)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sqlecho", "sqlecho: SQL capture for tests")
    group.addoption(
        "--sqlecho-report",
        action="store_true",
        default=None,
        help="show the SQL each capture of a failing test saw in its report",
    )
    parser.addini(
        "sqlecho_report",
        type="bool",
        default=False,
        help="show the SQL each capture of a failing test saw in its report",
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
    group.addoption(
        "--sqlecho-no-unused-eager-loads",
        action="store_true",
        default=None,
        help="fail every test whose call eager-loads a relationship that it never reads",
    )
    parser.addini(
        "sqlecho_no_unused_eager_loads",
        type="bool",
        default=False,
        help="fail every test whose call eager-loads a relationship that it never reads",
    )
    parser.addini(
        "sqlecho_allow_n_plus_one",
        type="linelist",
        default=[],
        help="N+1 findings to allow in every test: Hero.team, a statement or a request, one a line",
    )
    group.addoption(
        "--sqlecho-baseline",
        default=None,
        metavar="PATH",
        help="a file of the N+1 findings each test has today: they pass, new ones fail",
    )
    parser.addini("sqlecho_baseline", default="", help="the baseline file (see --sqlecho-baseline)")
    group.addoption(
        "--sqlecho-baseline-update",
        action="store_true",
        default=False,
        help="write the baseline file from this run's N+1 findings (none fails)",
    )


def _baseline_path(config: pytest.Config) -> Path | None:
    option = config.getoption("sqlecho_baseline") or config.getini("sqlecho_baseline")
    if not option:
        if config.getoption("sqlecho_baseline_update"):
            raise pytest.UsageError("--sqlecho-baseline-update needs --sqlecho-baseline=PATH")
        return None
    return config.rootpath / option if not Path(option).is_absolute() else Path(option)


def _read_baseline(path: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise pytest.UsageError(f"sqlecho baseline {path}: not a baseline file ({error})") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(f, str) for f in v) for v in data.values()
    ):
        raise pytest.UsageError(f"sqlecho baseline {path}: expected an object of test id -> list of findings")
    return data


def pytest_configure(config: pytest.Config) -> None:
    # paths imports neither SQLAlchemy nor the ORM: cheap for every run.
    from .._record import paths

    config.stash[_PREVIOUS_ROOT] = paths.set_root(config.rootpath)
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(threshold=2): fail the test when its call runs an N+1 (sqlecho)",
    )
    config.addinivalue_line(
        "markers",
        f"{_EAGER_MARKER}: fail the test when its call eager-loads a relationship it never reads (sqlecho)",
    )
    config.addinivalue_line(
        "markers",
        f"{_ALLOW_MARKER}(*rules): allow these N+1 findings in this test, e.g. 'Hero.team' (sqlecho)",
    )
    path = _baseline_path(config)
    if path is not None:
        config.stash[_BASELINE] = {} if config.getoption("sqlecho_baseline_update") else _read_baseline(path)
        config.stash[_FOUND] = {}


def pytest_unconfigure(config: pytest.Config) -> None:
    # Put the root back: a run inside a run (pytester) must not change the outer run's paths.
    from .._record import paths

    if _PREVIOUS_ROOT in config.stash:
        paths.set_root(config.stash[_PREVIOUS_ROOT])


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    path = _baseline_path(config)
    if path is None or not config.getoption("sqlecho_baseline_update"):
        return
    found = {nodeid: sorted(set(prints)) for nodeid, prints in sorted(config.stash[_FOUND].items()) if prints}
    path.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")


def _rules_of(item: pytest.Item) -> list[str]:
    rules = list(item.config.getini("sqlecho_allow_n_plus_one"))
    for marker in item.iter_markers(_ALLOW_MARKER):
        rules.extend(marker.args)
    return rules


def _uses_test_api(item: pytest.Item) -> bool:
    """Whether this test may make N+1 reports: the check is on, or it is set up for them."""
    return bool(_rules_of(item)) or _BASELINE in item.config.stash


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Every capture the test opens, for the report; the N+1 rules and baseline of this test.
    from .._record.watch import watch

    watch(item.stash.setdefault(_CAPTURES, []))
    if not _uses_test_api(item):
        return
    from .inflight import requests_tracked
    from .nplusone import collect_findings, has_request_rules, set_test_rules

    rules = _rules_of(item)
    try:
        set_test_rules(rules, item.config.stash.get(_BASELINE, {}).get(item.nodeid, []))
    except ValueError as error:
        raise pytest.UsageError(f"{item.nodeid}: {error}") from None
    if item.config.getoption("sqlecho_baseline_update"):
        collect_findings(allow_all=True)
    if has_request_rules(rules):
        # Rules by request: note which request each statement served, whatever the capture.
        tracking = requests_tracked()
        tracking.__enter__()
        item.stash[_TRACKING] = tracking


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    from .._record.watch import watch

    watch(None)
    tracking = item.stash.get(_TRACKING, None)
    if tracking is not None:
        del item.stash[_TRACKING]
        tracking.__exit__(None, None, None)
    if not _uses_test_api(item):
        return
    from .nplusone import set_test_rules

    found = set_test_rules([], [])
    if _FOUND in item.config.stash and found:
        item.config.stash[_FOUND].setdefault(item.nodeid, []).extend(f.fingerprint for f in found)


def _n_plus_one_threshold(item: pytest.Item) -> int | None:
    """The N+1 threshold to check this test with, or None when the check is off for it."""
    marker = item.get_closest_marker(_MARKER)
    if marker is not None:
        return int(marker.kwargs.get("threshold", marker.args[0] if marker.args else 2))
    option = item.config.getoption("sqlecho_no_n_plus_one")
    enabled = bool(option) if option is not None else bool(item.config.getini("sqlecho_no_n_plus_one"))
    return 2 if enabled else None


def _no_unused_eager_loads(item: pytest.Item) -> bool:
    """Whether to check this test's call for unused eager loads."""
    if item.get_closest_marker(_EAGER_MARKER) is not None:
        return True
    option = item.config.getoption("sqlecho_no_unused_eager_loads")
    return bool(option) if option is not None else bool(item.config.getini("sqlecho_no_unused_eager_loads"))


def _check(cap: Capture, threshold: int | None, eager: bool) -> None:
    """The automatic checks: a failure shows the findings, not this plugin's source."""
    from .eager import assert_no_unused_eager_loads
    from .listing import EmptyCaptureWarning, SQLAssertionError
    from .nplusone import assert_no_n_plus_one

    try:
        with warnings.catch_warnings():
            # A test that sends no SQL is no mistake here: the check watches every test.
            warnings.simplefilter("ignore", EmptyCaptureWarning)
            if threshold is not None:
                assert_no_n_plus_one(cap, threshold)
            if eager:
                assert_no_unused_eager_loads(cap)
    except SQLAssertionError as error:
        message = str(error)
    else:
        return
    pytest.fail(message, pytrace=False)


if _NEW_STYLE:

    @_wrapper
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
        threshold = _n_plus_one_threshold(item)
        eager = _no_unused_eager_loads(item)
        if threshold is None and not eager:
            return (yield)
        from .._record.capture import capture

        with capture() as cap:
            result = yield
        _check(cap, threshold, eager)
        return result

else:  # pragma: no cover - pluggy 1.0, tested in a virtualenv of its own

    @_wrapper
    def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
        threshold = _n_plus_one_threshold(item)
        eager = _no_unused_eager_loads(item)
        if threshold is None and not eager:
            yield
            return
        from .._record.capture import capture

        with capture() as cap:
            outcome = yield
        if outcome.excinfo is None:
            _check(cap, threshold, eager)


@pytest.fixture
def sql_capture(request: pytest.FixtureRequest) -> Iterator[Callable[..., Capture]]:
    """``sql_capture(engine)``: a :func:`sqlecho.capture` context manager for this test.

    Takes what ``capture()`` takes (engines, connections, sessions; none: every engine, and
    ``strict``). Counts as keywords (``sql_capture(select=1, insert=0)``) are asserted when the
    block ends, like ``assert_count`` (``info=``: a message shown first in the failure); one that was
    never entered (no ``with``) fails the test.
    Captures still open when the test ends are closed, so no listener outlives the test.
    """
    from .assertions import counting_capture

    made: list[tuple[Capture, dict[str, int | AtMost | AtLeast]]] = []

    def factory(
        *targets: object, strict: bool = False, info: str | None = None, **counts: int | AtMost | AtLeast
    ) -> Capture:
        cap = counting_capture(targets, strict, counts, info)
        made.append((cap, counts))
        return cap

    yield factory
    for cap, _counts in made:
        if cap.active:
            cap.__exit__(None, None, None)
    unused = [counts for cap, counts in made if counts and not cap.started]
    if unused:
        shown = ", ".join(f"{kind}={value}" for kind, value in unused[0].items())
        pytest.fail(
            f"sql_capture({shown}) was never entered, so its counts were never checked: "
            f"use it as `with sql_capture(...):`",
            pytrace=False,
        )


def _enabled(config: pytest.Config) -> bool:
    option = config.getoption("sqlecho_report")
    return bool(option) if option is not None else bool(config.getini("sqlecho_report"))


def report_text(captures: list[Capture]) -> str:
    """What the report section shows: each capture's statements with their lines."""
    from .listing import heading, listing

    parts = []
    started = [cap for cap in captures if cap.started]
    for number, cap in enumerate(started, 1):
        name = getattr(cap, "request", None)
        title = f"capture #{number}{f' ({name})' if name else ''}: " if len(started) > 1 or name else ""
        parts.append(f"{title}{heading(cap.count())}\n{listing(cap, params=True, transactions=True)}")
    return "\n\n".join(parts)


@_wrapper
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    outcome = yield
    report = outcome if _NEW_STYLE else outcome.get_result()
    captures = item.stash.get(_CAPTURES, [])
    if report.failed and captures and _enabled(item.config) and any(cap.started for cap in captures):
        report.sections.append((f"Captured SQL {report.when}", report_text(captures)))
    return report if _NEW_STYLE else None
