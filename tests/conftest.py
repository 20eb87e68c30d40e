"""Shared fixtures: real browsers and the bubblewrap sandbox run in CI and skip elsewhere."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browsing import chromium_browser
from tests.helpers import AXE, CHROMIUM


def _require(available: bool, reason: str) -> None:
    """Skip with ``reason`` on a user's machine; fail in CI, where everything must run."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must run this test: .ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium for Playwright; skips the test where it is not installed."""
    _require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """A headless Chromium (Playwright) shared by one test module's tests, closed after them."""
    with chromium_browser(chromium) as launched:
        yield launched


@pytest.fixture(scope="session")
def axe_script() -> str:
    """The text of axe-core's axe.min.js; skips the test where it is not installed."""
    _require(
        AXE.exists(), f"axe-core not found at {AXE} (see .ci/run: npm install --prefix tests/.axe axe-core)"
    )
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def bwrap() -> str:
    """Path of bubblewrap; skips the test where it is not installed."""
    path = shutil.which("bwrap")
    _require(path is not None, "bubblewrap (bwrap) not found (apt-get install bubblewrap)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def run_cgroup(bwrap: str) -> None:
    """A control group per run can be made here (root, or a delegated subtree); skips elsewhere.
    In CI, which runs as root, it must work."""
    from sqlecho._sandbox.cgroup import cgroup_support

    support = cgroup_support()
    _require(bool(support.version), f"no control group per run here: {support.why}")


@pytest.fixture(scope="session")
def nginx() -> str:
    """Path of Debian's nginx; skips the test where it is not installed."""
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    _require(path is not None, "nginx not found (apt-get install nginx)")
    assert path is not None
    return path


@pytest.fixture(scope="session", autouse=True)
def transcript_cache_dir() -> Iterator[Path]:
    """The app servers and pages of this test run keep lesson transcripts in a folder of their
    own (``SQLECHO_CACHE_DIR``, inherited by the servers the tests start), never in the user's."""
    folder = Path(tempfile.mkdtemp(prefix="sqlecho-cache-"))
    previous = os.environ.get("SQLECHO_CACHE_DIR")
    os.environ["SQLECHO_CACHE_DIR"] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop("SQLECHO_CACHE_DIR", None)
        else:
            os.environ["SQLECHO_CACHE_DIR"] = previous
        shutil.rmtree(folder, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/golden/<lesson>.json from each lesson's current transcript",
    )


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to rewrite the golden transcripts instead of comparing them."""
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A private PostgreSQL cluster (Debian's server) for the session's tests, removed after.

    Skips where PostgreSQL is not installed; fails in CI, where .ci/run installs it.
    """
    pytest.importorskip("psycopg")
    from sqlecho._sandbox.postgres import PostgresCluster, PostgresUnavailable, find_binaries

    try:
        binaries = find_binaries()
    except PostgresUnavailable as exc:
        _require(False, str(exc))
        raise
    cluster = PostgresCluster(tmp_path_factory.mktemp("postgres"), binaries=binaries)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def postgres_databases(postgres_server: Any) -> Iterator[Any]:
    """Fresh databases of that cluster, one per run (:class:`sqlecho._sandbox.postgres.RunDatabases`)."""
    from sqlecho._sandbox.postgres import RunDatabases, connector

    databases = RunDatabases(
        connector(postgres_server.admin_conninfo), str(postgres_server.socket_dir), spare=2, private=True
    )
    try:
        yield databases
    finally:
        databases.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A browser or replica test that fails is run once more before it counts.

    They drive a real Chromium against a real server on a machine that may be busy: a click that
    lands while Streamlit is still rerunning is lost now and then. Every other test runs once.
    """
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("nginx"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))
