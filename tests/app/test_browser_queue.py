"""The queue of pasted runs in a real browser: a server that runs one program at a time, two
readers. The second sees their place, refreshed by the page itself, and their run starts as soon
as the first reader's place is free."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browsing import WAIT_MS, open_page, streamlit_app
from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.sandbox]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, bwrap: str) -> Iterator[str]:
    env = {
        "SQLECHO_LESSONS": str(ROOT / "tests" / "fixtures" / "lessons"),
        "SQLECHO_POOL_SIZE": "1",
        "SQLECHO_RUNS": "1",
        "SQLECHO_RUN_QUEUE": "1",
    }
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), env) as url:
        yield url


def _run(page: object, code: str) -> None:
    box = page.get_by_role("textbox", name="Your program")  # type: ignore[attr-defined]
    expect(box).to_be_visible(timeout=WAIT_MS)
    box.fill(code)
    page.get_by_role("button", name="Run").click()  # type: ignore[attr-defined]


def test_a_second_reader_waits_for_the_place_and_then_runs(browser: object, app_url: str) -> None:
    first = open_page(browser, f"{app_url}/your_code", 1400, 1000)
    second = open_page(browser, f"{app_url}/your_code", 1400, 1000)
    third = open_page(browser, f"{app_url}/your_code", 1400, 1000)
    try:
        _run(first, "import time\nprint('holding the place')\ntime.sleep(60)\n")
        expect(first.get_by_role("button", name="Cancel")).to_be_visible(timeout=WAIT_MS)  # type: ignore[attr-defined]
        _run(second, "x = 2\nprint(x)\n")
        expect(second.get_by_text("Waiting for a free place: yours is next.")).to_be_visible(timeout=WAIT_MS)  # type: ignore[attr-defined]
        _run(third, "x = 3\nprint(x)\n")  # the queue (of one) is full
        expect(third.get_by_text("The server is busy: 1 run is waiting already")).to_be_visible(
            timeout=WAIT_MS
        )  # type: ignore[attr-defined]
        first.get_by_role("button", name="Cancel").click()  # type: ignore[attr-defined]
        # The second page learns by itself that its turn came, runs, and shows the program.
        # (A worker started cold on a busy machine: allow it twice the usual wait.)
        expect(second.get_by_text("Step 1 of 2", exact=False)).to_be_visible(timeout=2 * WAIT_MS)  # type: ignore[attr-defined]
        expect(second.get_by_text("Waiting for a free place")).to_have_count(0)  # type: ignore[attr-defined]
    finally:
        for page in (first, second, third):
            page.context.close()  # type: ignore[attr-defined]
