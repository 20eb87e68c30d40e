"""The app in a real browser: Debian's Chromium, driven by Playwright, against ``streamlit run``.

One server (a subprocess on a free port, polled until it answers, always stopped) serves the
fixture lessons through the default runner. Screenshots land in test-artifacts/ for a look
after a failure.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browsing import WAIT_MS, open_page, shot, streamlit_app
from tests.helpers import ROOT

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

FIXTURES = ROOT / "tests" / "fixtures" / "lessons"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` serving the fixture lessons; stopped however the tests end."""
    env = {"SQLECHO_LESSONS": str(FIXTURES), "SQLECHO_POOL_SIZE": "1"}
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), env) as url:
        yield url


_shot = shot


def test_deep_link_then_step_forward(browser: object, app_url: str) -> None:
    page = open_page(browser, f"{app_url}/?lesson=01_first_steps&step=4", 1400, 1000)
    try:
        expect(page.get_by_text("Step 4 of 8", exact=False)).to_be_visible(timeout=WAIT_MS)
        expect(page.locator(".sqe-cause-expired")).to_have_text("load expired Hero#1")
        expect(page.locator(".sqe-sql pre").first).to_contain_text("WHERE hero.id = ?")
        expect(page.locator(".sqe-card .sqe-st-persistent").first).to_be_visible()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text("Step 5 of 8", exact=False)).to_be_visible()
        expect(page).to_have_url(re.compile(r"[?&]step=5(&|$)"))
        expect(page.locator(".sqe-cause-autoflush")).to_have_text("autoflush")
        expect(page.locator(".sqe-sql pre").first).to_contain_text(
            "INSERT INTO hero (name, age) VALUES (?, ?)"
        )
        transition = page.locator(".sqe-obj", has_text=re.compile(r"Hero#3\W+pending → \W+persistent"))
        expect(transition.locator(".sqe-st-pending")).to_have_text(re.compile("pending"))
        expect(transition.locator(".sqe-st-persistent")).to_have_text(re.compile("persistent"))
        _shot(page, "deep-link-step-5")
    finally:
        page.context.close()  # type: ignore[attr-defined]


def test_two_readers_at_once_each_see_their_own_lesson(browser: object, app_url: str) -> None:
    first = open_page(browser, f"{app_url}/?lesson=01_first_steps&step=2", 1400, 1000)
    second = open_page(browser, f"{app_url}/?lesson=02_relationships&step=3", 1400, 1000)
    try:
        expect(first.get_by_role("heading", name="First steps with a Session")).to_be_visible(timeout=WAIT_MS)
        expect(second.get_by_role("heading", name="Lazy loading")).to_be_visible(timeout=WAIT_MS)
        first.get_by_role("button", name="Next").click()
        expect(first.get_by_text("Step 3 of 8", exact=False)).to_be_visible()
        second.get_by_role("button", name="Previous").click()
        expect(second.get_by_text("Step 2 of 5", exact=False)).to_be_visible()
        expect(first).to_have_url(re.compile(r"lesson=01_first_steps&step=3"))
        expect(second).to_have_url(re.compile(r"lesson=02_relationships&step=2"))
        expect(first.get_by_text("Step 3 of 8", exact=False)).to_be_visible()  # untouched by the other
        expect(second.locator(".sqe-tx-commit")).to_be_visible()
        _shot(first, "reader-one")
        _shot(second, "reader-two")
    finally:
        first.context.close()  # type: ignore[attr-defined]
        second.context.close()  # type: ignore[attr-defined]


def test_a_bad_deep_link_shows_a_friendly_message(browser: object, app_url: str) -> None:
    page = open_page(browser, f"{app_url}/?lesson=no_such_lesson&step=abc", 1400, 1000)
    try:
        expect(page.get_by_text("There is no lesson called “no_such_lesson”", exact=False)).to_be_visible(
            timeout=WAIT_MS
        )
        expect(page.get_by_text("Step 1 of 8", exact=False)).to_be_visible()
        expect(page).to_have_url(re.compile(r"lesson=01_first_steps&step=1"))
        assert page.locator("text=Traceback").count() == 0
        _shot(page, "bad-deep-link")
    finally:
        page.context.close()  # type: ignore[attr-defined]


def test_your_code_page_traces_a_pasted_program(browser: object, app_url: str) -> None:
    page = open_page(browser, f"{app_url}/your_code", 1400, 1000)
    try:
        box = page.get_by_role("textbox", name="Your program")
        expect(box).to_be_visible(timeout=WAIT_MS)
        box.fill("x = 1\nprint('<b>hello</b>')\n")
        page.get_by_role("button", name="Run").click()
        expect(page.get_by_text("Step 1 of 2", exact=False)).to_be_visible(timeout=WAIT_MS)
        page.get_by_role("button", name="Next").click()
        expect(page.locator(".sqe-out")).to_contain_text("<b>hello</b>")  # shown as text, not markup
        _shot(page, "your-code")
    finally:
        page.context.close()  # type: ignore[attr-defined]


def _press_cancel(cancel: Any) -> None:
    """Press Cancel while the page is running: the page redraws a placeholder below it every
    quarter second, which on a slow machine can keep Playwright's "stable for two frames" check
    from ever holding; a person's click needs no such wait, so neither does this one."""
    cancel.click(force=True)


def test_a_running_trace_can_be_cancelled(browser: object, app_url: str) -> None:
    page = open_page(browser, f"{app_url}/your_code", 1400, 1000)
    try:
        box = page.get_by_role("textbox", name="Your program")
        expect(box).to_be_visible(timeout=WAIT_MS)
        box.fill("import time\nprint('sleeping')\ntime.sleep(30)\n")
        page.get_by_role("button", name="Run").click()
        cancel = page.get_by_role("button", name="Cancel")
        expect(cancel).to_be_visible(timeout=WAIT_MS)
        _shot(page, "your-code-running")
        _press_cancel(cancel)
        # Well before the program's 30 s (or the time limit) would end the run.
        expect(page.get_by_text("Stopped: you cancelled the run.")).to_be_visible(timeout=10_000)
        expect(cancel).to_have_count(0)
        expect(page.get_by_text("Step 1 of", exact=False)).to_have_count(0)
        _shot(page, "your-code-cancelled")
        # Nothing was kept for it: Run again runs it again (and Cancel is offered again).
        page.get_by_role("button", name="Run").click()
        expect(cancel).to_be_visible(timeout=WAIT_MS)
        _press_cancel(cancel)
        expect(page.get_by_text("Stopped: you cancelled the run.")).to_be_visible(timeout=10_000)
    finally:
        page.context.close()  # type: ignore[attr-defined]


REMOTE = "http://127.0.0.1:9/sqlecho-remote"  # nothing listens; a request would still be seen


def test_strangers_text_loads_nothing_and_links_nothing(browser: object, app_url: str) -> None:
    """A crafted link and a pasted narrative: their images never load, raw HTML stays text."""
    requested: list[str] = []
    crafted = f"[click]({REMOTE}/link)![x]({REMOTE}/link.png)<img src={REMOTE}/html.png>"
    page = open_page(browser, f"{app_url}/?lesson={urllib.parse.quote(crafted)}", 1400, 1000)
    page.on("request", lambda request: requested.append(request.url))  # type: ignore[attr-defined]
    try:
        alert = page.get_by_role("alert").filter(has_text="There is no lesson called")
        expect(alert).to_be_visible(timeout=WAIT_MS)
        shown = alert.inner_text().replace("\u2060", "")  # the invisible joiners that stop autolinks
        assert f"“[click]({REMOTE}/link)![x]" in shown, shown
        assert alert.locator("a, img").count() == 0, alert.inner_html()
        page.goto(f"{app_url}/your_code")  # type: ignore[attr-defined]
        box = page.get_by_role("textbox", name="Your program")  # type: ignore[attr-defined]
        expect(box).to_be_visible(timeout=WAIT_MS)
        box.fill(
            f"# %% [markdown]\n# Look ![n]({REMOTE}/narrative.png) <img src='{REMOTE}/raw.png'>\n"
            f"# %% Title ![t]({REMOTE}/title.png)\nx = 1\n"
        )
        page.get_by_role("button", name="Run").click()  # type: ignore[attr-defined]
        expect(page.get_by_text("Step 1 of 1", exact=False)).to_be_visible(timeout=WAIT_MS)  # type: ignore[attr-defined]
        shown = page.locator('[data-testid="stMarkdownContainer"] p')  # type: ignore[attr-defined]
        expect(shown.filter(has_text="Look")).to_contain_text(f"Look ![n]({REMOTE}/narrative.png)")
        expect(shown.filter(has_text="Step 1 of 1")).to_contain_text(f"Title ![t]({REMOTE}/title.png)")
        assert page.locator(f'img[src^="{REMOTE}"]').count() == 0  # type: ignore[attr-defined]
        _shot(page, "strangers-text")
    finally:
        page.context.close()  # type: ignore[attr-defined]
    assert [url for url in requested if url.startswith(REMOTE)] == []
