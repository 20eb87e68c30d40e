"""Predict mode on exported pages, in a real Chromium from ``file://``: ask, reveal, keep the score."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from tests.browsing import shot
from tests.helpers import ROOT
from tests.render.test_export import in_process
from tests.render.test_export_browser import ARGS

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

LESSONS = ROOT / "tests" / "fixtures" / "predict"
ANSWERS = ("INSERT INTO", "The commit flushed first", "Expect:", "What to look for")
EXERCISE_ANSWERS = (
    "WHERE hero.name",
    "prints 'found: Deadpond'",
    "identity map, a query asks",
    "Expect:",
    "What to look for",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    argv = ["export", str(LESSONS / "01_predict.py"), str(LESSONS / "02_next.py"), "-o", str(out)]
    assert main(argv, runner=in_process) == 0
    return out


@pytest.fixture(scope="module")
def chromium_context(chromium: str) -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _tab(browser: Any, width: int, height: int) -> tuple[Any, list[str]]:
    blocked: list[str] = []
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()

    def block(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    tab.route(lambda url: not url.startswith("file:"), block)
    return tab, blocked


@pytest.mark.parametrize("size", [(1280, 720), (390, 844)])
def test_a_predicted_step_holds_its_answer_until_answered_and_keeps_the_score(
    chromium_context: Any, site: Path, size: tuple[int, int]
) -> None:
    tab, blocked = _tab(chromium_context, *size)
    try:
        tab.goto((site / "01_predict.html").as_uri() + "#step=2")
        question = tab.get_by_label("How many INSERT statements?")
        expect(question).to_be_visible()
        expect(question).to_have_value("")  # no default answer
        text = str(tab.evaluate("document.body.textContent"))
        assert not any(answer in text for answer in ANSWERS)
        tab.get_by_role("button", name="Check my prediction").click()  # nothing answered
        expect(tab.locator('.sqx-step[data-step="2"] .sqx-missing')).to_be_visible()
        question.fill("1")
        tab.get_by_label("How many COMMITs?").fill("2")
        tab.get_by_role("radio", name="persistent").check()  # a state chip
        tab.get_by_role("button", name="Check my prediction").click()
        expect(tab.get_by_text("Not quite: compare with what happened.")).to_be_visible()
        expect(tab.get_by_text("wrong, it was 1")).to_be_visible()
        expect(tab.locator('.sqx-step[data-step="2"] .sqe-sql').first).to_contain_text("INSERT INTO hero")
        expect(tab.locator(".sqx-score-text")).to_have_text("Score: 0 of 2 predicted right (1 answered)")
        tab.reload()
        expect(tab.get_by_text("Not quite: compare with what happened.")).to_be_visible()
        expect(tab.locator(".sqx-score-text")).to_have_text("Score: 0 of 2 predicted right (1 answered)")
        tab.get_by_role("button", name="Clear my answers").click()
        expect(tab.get_by_label("How many INSERT statements?")).to_be_visible()
        expect(tab.locator(".sqx-score-text")).to_have_text("Score: 0 of 2 predicted right (0 answered)")
        assert blocked == []
    finally:
        tab.context.close()


def test_the_last_step_is_revealed_before_the_next_lesson_with_a_summary(
    chromium_context: Any, site: Path
) -> None:
    tab, blocked = _tab(chromium_context, 390, 844)
    try:
        tab.goto((site / "01_predict.html").as_uri() + "#step=4")
        expect(tab.get_by_label("How many SELECT statements?")).to_be_visible()
        text = str(tab.evaluate("document.body.textContent"))
        assert not any(answer in text for answer in EXERCISE_ANSWERS)  # no check, SQL or "after"
        onward = tab.get_by_role("link", name="Next lesson: After predicting ›")
        expect(onward).to_be_visible()
        onward.click()  # reveals the last step first
        expect(tab.locator('.sqx-step[data-step="4"] .sqe-sql').first).to_contain_text("WHERE hero.name")
        expect(tab.get_by_text("select == 1; prints 'found: Deadpond'")).to_be_visible()
        expect(tab.get_by_role("heading", name="Lesson summary")).to_be_visible()
        expect(tab.get_by_text("You predicted 0 of 2 steps right.")).to_be_visible()
        tab.get_by_role("link", name="Step 2: Add and commit").click()
        expect(tab.locator(".sqx-n")).to_have_text("2")
        shot(tab, "export-predict-phone")
        tab.keyboard.press("End")
        tab.get_by_role("link", name="Next lesson: After predicting ›").first.click()
        expect(tab).to_have_url((site / "02_next.html").as_uri())
        assert blocked == []
    finally:
        tab.context.close()


def test_the_navigation_stays_on_a_phones_screen(chromium_context: Any, site: Path) -> None:
    tab, blocked = _tab(chromium_context, 390, 844)
    try:
        tab.goto((site / "01_predict.html").as_uri() + "#step=2")
        tab.get_by_role("button", name="Reveal").click()
        tab.mouse.wheel(0, 3000)
        tab.wait_for_timeout(200)
        assert tab.evaluate("window.scrollY") > 500  # a long step, scrolled down
        nav = tab.locator(".sqx-nav")
        expect(nav).to_be_in_viewport()
        assert nav.bounding_box()["y"] <= 1
        tab.get_by_role("button", name="Next ›").click()  # the new step starts below the navigation
        step = tab.locator('.sqx-step[data-step="3"]')
        expect(step).to_be_in_viewport()
        assert step.bounding_box()["y"] >= nav.bounding_box()["y"] + nav.bounding_box()["height"] - 1
        assert blocked == []
    finally:
        tab.context.close()


def test_a_renamed_lessons_page_reads_the_answers_kept_under_its_old_name(
    chromium_context: Any, tmp_path: Path
) -> None:
    from sqlecho._render.export import viewer_page
    from sqlecho._trace.options import TraceOptions

    lesson = LESSONS / "01_predict.py"
    source = lesson.read_text(encoding="utf-8")
    transcript = in_process(source, lesson, TraceOptions(), lesson.name)
    for stem in ("23_execute_exec_scalars", "08_execute_exec_scalars"):  # an old name, then its new one
        page = viewer_page(transcript, source, title="Predicting", index_href=None, stem=stem)
        (tmp_path / f"{stem}.html").write_text(page, encoding="utf-8")
    tab, blocked = _tab(chromium_context, 1280, 720)
    try:
        tab.goto((tmp_path / "23_execute_exec_scalars.html").as_uri() + "#step=2")
        tab.get_by_label("How many INSERT statements?").fill("1")
        tab.get_by_label("How many COMMITs?").fill("1")
        tab.get_by_role("radio", name="persistent").check()
        tab.get_by_role("button", name="Check my prediction").click()
        expect(tab.locator(".sqx-score-text")).to_have_text("Score: 1 of 2 predicted right (1 answered)")
        tab.goto((tmp_path / "08_execute_exec_scalars.html").as_uri() + "#step=2")
        expect(tab.locator(".sqx-score-text")).to_have_text("Score: 1 of 2 predicted right (1 answered)")
        assert blocked == []
    finally:
        tab.context.close()
