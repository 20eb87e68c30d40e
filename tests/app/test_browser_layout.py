"""The lesson page's layout in Chromium: the step bar, the code column, presenter mode, names a
screen reader hears. Measured on a real lesson at the sizes a class uses."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browsing import WAIT_MS, open_page, shot, streamlit_app

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

LESSON = "22_stale_data"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), {"SQLECHO_POOL_SIZE": "1"}) as url:
        yield url


def test_the_code_column_is_wide_and_never_breaks_a_name(browser: object, app_url: str) -> None:
    page = open_page(browser, f"{app_url}/?lesson={LESSON}&step=3&predict=0")
    try:
        expect(page.locator(".sqe-code").first).to_be_visible(timeout=WAIT_MS)
        width = page.locator(".sqe-code").first.bounding_box()["width"]  # type: ignore[attr-defined]
        assert width > 350, width
        heights = page.evaluate(  # type: ignore[attr-defined]
            "[...document.querySelector('.sqe-code').querySelectorAll('.sqe-line')].map(l => l.getBoundingClientRect().height)"
        )
        assert max(heights) < 1.5 * min(heights), heights  # one row per line: nothing wrapped
        slider = page.get_by_role("slider", name="Go to step", exact=True)  # type: ignore[attr-defined]
        expect(slider).to_have_count(1)
        expect(slider).not_to_have_attribute("aria-labelledby", re.compile(".*"))  # not "Step Step"
    finally:
        page.context.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(1280, 720), (390, 844)])
def test_next_from_far_down_shows_the_new_steps_start_below_an_opaque_header(
    browser: object, app_url: str, size: tuple[int, int]
) -> None:
    page = open_page(browser, f"{app_url}/?lesson={LESSON}&step=3&predict=0", *size)
    try:
        expect(page.locator(".sqe-code").first).to_be_visible(timeout=WAIT_MS)
        page.mouse.move(size[0] // 2, size[1] // 2)  # type: ignore[attr-defined]
        page.mouse.wheel(0, 1500)  # type: ignore[attr-defined]
        page.wait_for_timeout(300)  # type: ignore[attr-defined]
        header = page.locator('[data-testid="stHeader"]')  # type: ignore[attr-defined]
        colour = header.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "transparent")  # nothing shows above the bar
        page.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
        expect(page.get_by_text("Step 4 of")).to_be_visible(timeout=WAIT_MS)  # type: ignore[attr-defined]
        # The new step's narrative (its question) opens the code column: on screen, below the
        # header, and on a desk below the sticky bar.
        narrative = page.locator('[data-testid="stColumn"] [data-testid="stMarkdownContainer"]').first  # type: ignore[attr-defined]
        expect(narrative).to_be_in_viewport(timeout=WAIT_MS)
        top = narrative.bounding_box()["y"]
        assert top >= header.bounding_box()["y"] + header.bounding_box()["height"] - 1
        if size[0] > 640:
            bar = page.locator('[class*="st-key-stepbar"]').bounding_box()  # type: ignore[attr-defined]
            assert top >= bar["y"] + bar["height"] - 1
        shot(page, f"layout-after-next-{size[0]}")
    finally:
        page.context.close()  # type: ignore[attr-defined]


def test_presenter_mode_is_one_click_away_and_legible_at_1920(browser: object, app_url: str) -> None:
    page = open_page(browser, f"{app_url}/?lesson={LESSON}&step=3&predict=0&expire_on_commit=0", 1920, 1080)
    try:
        button = page.get_by_role("button", name="Presenter mode", exact=True)  # type: ignore[attr-defined]
        expect(button).to_be_visible(timeout=WAIT_MS)
        button.click()
        expect(page.get_by_role("button", name="Leave presenter mode")).to_be_visible(timeout=WAIT_MS)  # type: ignore[attr-defined]
        expect(page.locator(".sqe-diff li").first).to_be_visible()  # type: ignore[attr-defined]
        # An "only in this run" tag, as the events of a differing step carry it.
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<span class=sqe-only>only in this run</span>')"
        )  # type: ignore[attr-defined]
        sizes = page.evaluate(  # type: ignore[attr-defined]
            """() => Object.fromEntries([['bullet', '.sqe-diff li'], ['tag', '.sqe-only'],
                ['bar', '[class*=stepbar] [data-testid=stMarkdownContainer] p']]
              .map(([name, sel]) => [name, parseFloat(getComputedStyle(document.querySelector(sel)).fontSize)]))"""
        )
        next_button = page.get_by_role("button", name="Next", exact=True)  # type: ignore[attr-defined]
        sizes["next"] = next_button.evaluate(
            "el => parseFloat(getComputedStyle(el.querySelector('p') || el).fontSize)"
        )
        assert sizes["bullet"] >= 24 and sizes["bar"] >= 24 and sizes["next"] >= 24, sizes
        assert sizes["tag"] >= 20, sizes
        shot(page, "layout-presenter-1920")
    finally:
        page.context.close()  # type: ignore[attr-defined]


def test_the_whole_program_opens_at_the_step_in_a_usable_box(browser: object, app_url: str) -> None:
    page = open_page(browser, f"{app_url}/?lesson={LESSON}&step=9&predict=0")
    try:
        expect(page.locator(".sqe-code").first).to_be_visible(timeout=WAIT_MS)
        page.get_by_text("Whole program").click()  # type: ignore[attr-defined]
        box = page.locator(".st-key-w_whole .sqe-code")  # type: ignore[attr-defined]
        expect(box).to_be_visible(timeout=WAIT_MS)
        size = box.bounding_box()
        assert size["width"] > 800 and size["height"] > 300, size
        # Scrolled to the step: its first line is inside the box's visible part.
        seen = box.evaluate(
            """el => { const line = el.querySelector('.sqe-current').getBoundingClientRect();
                       const frame = el.getBoundingClientRect();
                       return el.scrollTop > 0 && line.top >= frame.top && line.bottom <= frame.bottom; }"""
        )
        assert seen
        box.scroll_into_view_if_needed()
        shot(page, "layout-whole-program")
    finally:
        page.context.close()  # type: ignore[attr-defined]
