"""The lesson page at the sizes it is read at: a laptop (1280x720), a projector (1920x1080, presenter
mode) and a phone (390x844), in Chromium, on the real lessons, plus an axe-core audit.

Screenshots land in test-artifacts/ (``page-*.png``): they are meant to be looked at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browsing import ARTIFACTS, WAIT_MS, streamlit_app
from tests.helpers import LESSONS, ROOT

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

LAPTOP = {"width": 1280, "height": 720}
PROJECTOR = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` serving the real lessons (trusted code: traced in-process)."""
    env = {"SQLECHO_LESSONS": str(LESSONS), "SQLECHO_RUNNER": "in-process"}
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), env) as url:
        yield url


@pytest.fixture
def open_page(browser: Any, app_url: str) -> Iterator[Any]:
    """Opens ``app_url + query`` (predict mode off unless the query says) at a viewport, with a
    touch screen when ``touch`` (a phone: taps, not clicks), and waits for the step bar; closes
    what it opened."""
    contexts: list[Any] = []

    def opener(
        query: str, viewport: dict[str, int] = LAPTOP, counter: str = "Step ", touch: bool = False
    ) -> Any:
        context = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)
        contexts.append(context)
        page = context.new_page()
        # These tests are about the revealed step: predict mode (tests/app/test_predict.py) off.
        if query.startswith("?") and "predict=" not in query:
            query += "&predict=0"
        page.goto(f"{app_url}/{query}")
        expect(page.get_by_text(counter, exact=False).first).to_be_visible(timeout=WAIT_MS)
        page.wait_for_timeout(300)  # the last blocks of the run settle
        return page

    yield opener
    for context in contexts:
        context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"))


def _box(page: Any, selector: str) -> dict[str, float]:
    locator = page.locator(f"{selector} >> visible=true").first  # a run may leave a stale, empty copy
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None, f"{selector} is not drawn"
    return box  # type: ignore[no-any-return]


def _on_screen(page: Any, selector: str) -> bool:
    box, size = _box(page, selector), page.viewport_size
    return bool(
        box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] + box["width"] <= size["width"]
    )


def _step(page: Any, text: str) -> None:
    expect(page.get_by_text(text, exact=False).first).to_be_visible(timeout=WAIT_MS)


# -- a laptop: one screen per step ------------------------------------------------------------------


def test_the_first_object_card_is_on_screen_and_the_columns_stay_put(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=3")
    assert _on_screen(page, ".sqe-card"), "the first object card is below the fold"
    assert _on_screen(page, ".sqe-sql")
    _shot(page, "laptop-typical-step")
    top = _box(page, ".sqe-objs")["y"]
    golden = json.loads((ROOT / "tests" / "golden" / "04_expire_on_commit.json").read_text(encoding="utf-8"))
    for number in (4, 5, 6):
        page.keyboard.press("ArrowRight")
        _step(page, f"Step {number} of {len(golden['steps'])}")
        page.wait_for_timeout(300)
        assert abs(_box(page, ".sqe-objs")["y"] - top) <= 2, f"the objects moved at step {number}"


def test_the_step_bar_stays_on_screen_while_the_page_scrolls(open_page: Any) -> None:
    page = open_page("?lesson=18_lazy_loading_n_plus_1&step=7")
    page.mouse.move(640, 500)
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(500)
    assert _on_screen(page, '.st-key-prev button, [class*="st-key-prev"] button')
    _shot(page, "laptop-scrolled-step-bar")


def test_arrow_keys_step_the_lesson_after_a_sidebar_pick_and_a_switch(open_page: Any) -> None:
    # Predict mode off: here an arrow key always steps (with it on, it first reveals an unanswered step).
    page = open_page("?lesson=04_expire_on_commit&step=1&predict=0")
    page.get_by_text("5. Expire on purpose", exact=False).click()
    expect(page).to_have_url(re.compile(r"lesson=05_partial_expiry&step=1"))
    expect(page.get_by_role("heading", name="Expire on purpose", exact=False)).to_be_visible()
    page.keyboard.press("ArrowRight")
    _step(page, "Step 2 of")
    expect(page).to_have_url(re.compile(r"lesson=05_partial_expiry&step=2"))
    _shot(page, "arrow-keys-after-sidebar-pick")
    page.get_by_text("autoflush", exact=True).click()
    # The address follows once the rerun (and the second run it compares with) is done: only then
    # is the page listening again.
    expect(page).to_have_url(re.compile(r"autoflush=0"), timeout=WAIT_MS)
    _step(page, "Step 2 of")
    page.wait_for_timeout(500)
    page.keyboard.press("ArrowRight")
    _step(page, "Step 3 of")
    page.keyboard.press("End")
    expect(page.locator(".st-key-last button >> visible=true")).to_be_disabled()
    page.keyboard.press("Home")
    _step(page, "Step 1 of")


def test_the_last_step_leads_to_the_next_lesson(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=12")
    onward = page.get_by_role("button", name="Next lesson: 5. Expire on purpose", exact=False)
    expect(onward).to_be_visible()
    _shot(page, "next-lesson")
    onward.click()
    _step(page, "Step 1 of")
    expect(page).to_have_url(re.compile(r"lesson=05_partial_expiry&step=1"))


def test_a_detached_card_says_access_raises(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=8")
    card = page.locator(".sqe-card", has_text="Book#4")
    expect(card).to_contain_text("access raises DetachedInstanceError: there is no session to load them from")
    expect(card).not_to_contain_text("next access loads")
    _shot(page, "detached-wording")


def test_two_sessions_are_shown_each_named(open_page: Any) -> None:
    page = open_page("?lesson=22_stale_data&step=4")
    names = page.locator(".sqe-session-name .sqe-label")
    expect(names).to_have_text(["desk", "web"])
    expect(page.locator(".sqe-card", has_text="Book#1").locator(".sqe-held")).to_have_text("in desk")
    expect(page.locator(".sqe-card", has_text="Book#2").locator(".sqe-held")).to_have_text("in web")
    page.locator(".sqe-session-block").last.scroll_into_view_if_needed()
    _shot(page, "two-sessions")


def test_the_variables_line_shows_the_loop_counter(open_page: Any) -> None:
    page = open_page("?lesson=18_lazy_loading_n_plus_1&step=6")
    expect(page.locator(".sqe-vars")).to_contain_text("count = 1")


def test_the_rollback_of_close_is_calm_and_says_why(open_page: Any) -> None:
    page = open_page("?lesson=06_closing_the_session&step=4")  # the end of a with block
    calm = page.locator(".sqe-tx-calm")
    expect(calm).to_contain_text("closed (close(), or the end of its with block)")
    expect(calm).to_contain_text("nothing committed is undone")
    calm.scroll_into_view_if_needed()
    _shot(page, "calm-rollback")


# -- a projector --------------------------------------------------------------------------------


def test_presenter_mode_is_large_and_keeps_the_objects_on_screen(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=3&presenter=1", PROJECTOR)
    for selector in (".sqe-code", ".sqe-sql pre", ".sqe-card", ".sqe-vals"):
        size = page.locator(selector).first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 24, f"{selector} is {size}px in presenter mode"
    assert _on_screen(page, ".sqe-card")
    expect(page.get_by_text("Whole program")).to_be_hidden()
    _shot(page, "presenter-1920")


# -- a phone ----------------------------------------------------------------------------------


def test_a_phone_gets_next_at_the_bottom_and_the_sql_under_the_code(open_page: Any) -> None:
    page = open_page("?lesson=04_expire_on_commit&step=3", PHONE)
    next_button = _box(page, ".st-key-next button")
    assert next_button["y"] + next_button["height"] > PHONE["height"] - 120, "Next is not at the bottom"
    code, sql, card = _box(page, ".sqe-code"), _box(page, ".sqe-sql"), _box(page, ".sqe-card")
    assert code["y"] < sql["y"] < card["y"] and sql["y"] - (code["y"] + code["height"]) < 200
    _shot(page, "phone")


def test_a_phone_folds_the_sidebar_away_after_a_lesson_is_tapped(open_page: Any) -> None:
    page = open_page("?lesson=01_engine_and_first_table", PHONE, touch=True)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar).not_to_be_in_viewport()  # a phone starts with the sidebar folded
    page.locator('[data-testid="stExpandSidebarButton"]').tap()
    expect(sidebar).to_be_in_viewport()
    sidebar.locator("label").filter(has_text="3. Flush").tap()  # a real tap: no change event fires
    expect(page.get_by_role("heading", name="Flush, commit and refresh")).to_be_visible(timeout=WAIT_MS)
    expect(sidebar).not_to_be_in_viewport()
    expect(page.locator(".st-key-next button >> visible=true").first).to_be_in_viewport()
    _shot(page, "phone-after-pick")


# -- "Your code" ----------------------------------------------------------------------------------


def test_your_code_steps_with_the_arrow_keys(open_page: Any) -> None:
    page = open_page("your_code", counter="Your program")
    page.get_by_role("textbox", name="Your program").fill("x = 1\ny = 2\nz = 3\n")
    page.get_by_role("button", name="Run").click()
    _step(page, "Step 1 of 3")
    page.keyboard.press("ArrowRight")  # focus is still on the Run button
    _step(page, "Step 2 of 3")
    expect(page.locator(".sqe-vars")).to_contain_text("x = 1")
    page.keyboard.press("End")
    _step(page, "Step 3 of 3")


# -- accessibility --------------------------------------------------------------------------------


def _audit(page: Any, axe_script: str, name: str) -> list[str]:
    page.add_script_tag(content=axe_script)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    ARTIFACTS.mkdir(exist_ok=True)
    lines = [
        f"{item['impact']}: {item['id']}: {item['help']} ({len(item['nodes'])} nodes)"
        for item in result["violations"]
    ]
    for item in result["violations"]:
        for node in item["nodes"]:
            lines.append(
                f"  {item['id']}: {node['target']}: {node['html'][:200]!r}: {node.get('failureSummary', '')[:300]!r}"
            )
    (ARTIFACTS / f"axe-{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [line for line in lines if line.startswith(SERIOUS)]


def test_axe_finds_nothing_serious_on_the_lesson_page(open_page: Any, axe_script: str) -> None:
    page = open_page("?lesson=22_stale_data&step=4")
    assert _audit(page, axe_script, "lesson") == []


def test_axe_finds_nothing_serious_on_your_code(open_page: Any, axe_script: str) -> None:
    page = open_page("your_code", counter="Your program")
    page.get_by_role("textbox", name="Your program").fill("x = 1\nprint(x)\n")
    page.get_by_role("button", name="Run").click()
    _step(page, "Step 1 of 2")
    assert _audit(page, axe_script, "your-code") == []
