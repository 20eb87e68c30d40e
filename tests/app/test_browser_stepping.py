"""The lesson page stepping in the browser (``SQLECHO_STEPPING=browser``), in Chromium, on the
real lessons: Next, Previous and the keys move with no server run, the address follows, the
server hears where the reader rests, an exercise appears under its step, predict mode asks and
marks, axe finds nothing serious. Screenshots at a laptop's, a phone's and a projector's size
land in test-artifacts/ (``stepping-*.png``): they are meant to be looked at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.app.test_lesson_page_browser import LAPTOP, PHONE, PROJECTOR, _audit
from tests.browsing import ARTIFACTS, WAIT_MS, streamlit_app
from tests.helpers import LESSONS

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

REPORT_WAIT_MS = 5000
"""The reporter speaks half a second after the reader rests; the fragment's run follows."""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` stepping in the browser, serving the real lessons (in-process)."""
    env = {"SQLECHO_LESSONS": str(LESSONS), "SQLECHO_RUNNER": "in-process", "SQLECHO_STEPPING": "browser"}
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), env) as url:
        yield url


@pytest.fixture
def open_page(browser: Any, app_url: str) -> Iterator[Any]:
    """Opens ``app_url + query`` at a viewport and waits for the viewer's "Step N of M"."""
    contexts: list[Any] = []

    def opener(query: str, counter: str, viewport: dict[str, int] = LAPTOP) -> Any:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{app_url}/{query}")
        expect(_where(page)).to_have_text(re.compile(re.escape(counter)), timeout=WAIT_MS)
        return page

    yield opener
    for context in contexts:
        context.close()


def _where(page: Any) -> Any:
    return page.locator(".sqx-where")


def _runs(page: Any) -> int:
    """Script runs the server started for this page so far (every run ends with the status widget idle)."""
    return int(page.evaluate("() => window.sqeRuns || 0"))


def _count_runs(page: Any) -> None:
    # Every message the page sends the server goes through the websocket: count them.
    page.evaluate(
        """() => {
      window.sqeRuns = 0;
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) { window.sqeRuns += 1; return send.call(this, data); };
    }"""
    )


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"stepping-{name}.png"))


def test_next_previous_and_keys_step_without_the_server(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=4&predict=0", "Step 4 of")
    _count_runs(page)
    page.get_by_role("button", name="Next").click()
    expect(_where(page)).to_contain_text("Step 5 of")
    expect(page).to_have_url(re.compile(r"lesson=04_expire_on_commit&step=5"))
    page.get_by_role("button", name="Previous").click()
    expect(_where(page)).to_contain_text("Step 4 of")
    expect(page).to_have_url(re.compile(r"step=4"))
    page.keyboard.press("ArrowRight")
    expect(_where(page)).to_contain_text("Step 5 of")
    page.keyboard.press("End")
    count = re.search(r"of (\d+)", _where(page).inner_text())
    assert count is not None
    expect(_where(page)).to_contain_text(f"Step {count[1]} of {count[1]}")
    page.keyboard.press("Home")
    expect(_where(page)).to_contain_text("Step 1 of")
    page.keyboard.press("ArrowRight")
    expect(_where(page)).to_contain_text("Step 2 of")
    # Six moves in a row, none waited for: at most the one report after the reader rested.
    page.wait_for_timeout(1500)
    assert _runs(page) <= 1


def test_a_focused_sidebar_radio_does_not_take_the_arrow_keys(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=2&predict=0", "Step 2 of")
    title = page.get_by_role("heading", level=1).inner_text()
    page.locator('[data-testid="stSidebar"] input[type="radio"]:checked').focus()
    page.keyboard.press("ArrowRight")
    expect(_where(page)).to_contain_text("Step 3 of")
    page.wait_for_timeout(1000)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)  # still the same lesson


def test_an_exercise_shows_under_its_step_only(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=1&predict=0", "Step 1 of")
    _count_runs(page)
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Exercise")).to_be_hidden()
    page.get_by_role("button", name="Next").click()
    expect(_where(page)).to_contain_text("Step 3 of")
    # Step 3 has an exercise: the server drew it with the page, so it shows with no message.
    expect(page.get_by_role("heading", name="Exercise")).to_be_visible()
    expect(page.get_by_role("button", name="Check")).to_be_visible()
    assert _runs(page) == 0
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Exercise")).to_be_hidden()


def test_the_server_hears_where_the_reader_rests(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=1&predict=0", "Step 1 of")
    # The addresses the page's own script writes (Streamlit's, from what the server says).
    page.evaluate(
        """() => {
      window.sqeWritten = [];
      for (const name of ["pushState", "replaceState"]) {
        const original = window.history[name].bind(window.history);
        window.history[name] = (state, title, url) => { window.sqeWritten.push(String(url)); return original(state, title, url); };
      }
    }"""
    )
    for _ in range(3):
        page.get_by_role("button", name="Next").click()
    expect(_where(page)).to_contain_text("Step 4 of")
    page.wait_for_timeout(7000)  # the reporter speaks at most every 5 s, after a rest of 0.5 s
    # A switch flipped reruns the whole page: the server writes the address from what it heard.
    page.locator('[data-testid="stSidebar"]').get_by_text("expire_on_commit", exact=True).click()
    expect(page.locator(".sqx-step:not([hidden]) .sqe-diff")).to_be_visible(
        timeout=WAIT_MS
    )  # the compared run
    expect(_where(page)).to_contain_text("Step 4 of")
    expect(page).to_have_url(re.compile(r"step=4&expire_on_commit=0"))
    written = [url for url in page.evaluate("() => window.sqeWritten") if "expire_on_commit=0" in url]
    assert written and "step=4" in written[0], written  # the server's own, not the browser's fix


def test_predict_mode_asks_then_marks_in_the_browser(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=2", "Step 2 of")
    shown = page.locator(".sqx-step:not([hidden])")
    expect(shown.get_by_text("Predict before you look.")).to_be_visible()
    expect(page.locator(".sqx-score-text")).to_contain_text("0 answered")
    page.get_by_role("button", name="Next").click()  # an unanswered question is revealed first
    expect(shown.get_by_text("Revealed without a prediction.")).to_be_visible()
    expect(_where(page)).to_contain_text("Step 2 of")
    _shot(page, "predict")


def test_an_exercise_waits_for_its_question_and_the_server_hears_the_reveal(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=3", "Step 3 of")
    shown = page.locator(".sqx-step:not([hidden])")
    expect(shown.get_by_text("Predict before you look.")).to_be_visible()
    page.wait_for_timeout(1000)
    assert page.get_by_role("heading", name="Exercise").count() == 0  # absent, not hidden
    shown.get_by_role("button", name="Reveal").click()
    # The reveal is told to the server, which draws the exercise under the step.
    expect(page.get_by_role("heading", name="Exercise")).to_be_visible(timeout=REPORT_WAIT_MS)


def test_axe_finds_nothing_serious(open_page: Any, axe_script: str) -> None:
    page = open_page("?lesson=19_stale_data&step=4&predict=0", "Step 4 of")
    assert _audit(page, axe_script, "stepping") == []


@pytest.mark.parametrize(
    ("name", "viewport", "query"),
    [
        ("laptop", LAPTOP, "?lesson=04_expire_on_commit&step=3&predict=0"),
        ("phone", PHONE, "?lesson=04_expire_on_commit&step=3&predict=0"),
        ("projector", PROJECTOR, "?lesson=04_expire_on_commit&step=4&predict=0&presenter=1"),
    ],
)
def test_screenshots(open_page: Any, name: str, viewport: dict[str, int], query: str) -> None:
    page = open_page(query, "Step ", viewport)
    page.wait_for_timeout(1500)
    nav = page.locator(".sqx-nav").bounding_box()
    assert nav is not None and nav["y"] >= 0 and nav["y"] + nav["height"] <= viewport["height"]
    _shot(page, name)
    page.mouse.move(viewport["width"] * 0.6, viewport["height"] / 2)
    page.mouse.wheel(0, 900)  # the bar stays in reach while a long step scrolls
    page.wait_for_timeout(500)
    nav = page.locator(".sqx-nav").bounding_box()
    assert nav is not None and nav["y"] >= 0 and nav["y"] + nav["height"] <= viewport["height"]
    _shot(page, f"{name}-scrolled")
