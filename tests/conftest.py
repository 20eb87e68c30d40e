"""Shared fixtures: real browsers and the bubblewrap sandbox run in CI and skip elsewhere."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
