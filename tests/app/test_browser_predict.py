"""Predict mode and an exercise in a real browser (Chromium through Playwright), keyboard only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browsing import WAIT_MS, open_page, streamlit_app
from tests.browsing import shot as _shot
from tests.helpers import ROOT

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

FIXTURES = ROOT / "tests" / "fixtures" / "predict"


@pytest.fixture(scope="module")
def predict_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` serving the predict fixture lesson; stopped however the tests end."""
    env = {"SQLECHO_LESSONS": str(FIXTURES), "SQLECHO_POOL_SIZE": "1"}
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), env) as url:
        yield url


def test_a_prediction_answered_from_the_keyboard_reveals_the_step(browser: object, predict_url: str) -> None:
    page = open_page(browser, f"{predict_url}/?lesson=01_predict&step=2")
    try:
        question = page.get_by_label("How many INSERT statements caused by flush?")
        expect(question).to_be_visible(timeout=WAIT_MS)
        assert page.locator(".sqe-sql").count() == 0  # the SQL stays hidden until answered
        question.focus()  # type: ignore[attr-defined]
        page.keyboard.type("1")  # type: ignore[attr-defined]
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        expect(page.get_by_label("How many COMMIT events?")).to_be_focused()
        page.keyboard.type("1")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        expect(page.get_by_text("You predicted it.")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator(".sqe-sql pre").first).to_contain_text("INSERT INTO hero")
        expect(page.get_by_text("The commit flushed first")).to_be_visible()
        _shot(page, "predict-answered")
    finally:
        page.context.close()  # type: ignore[attr-defined]


def test_reveal_and_predict_0(browser: object, predict_url: str) -> None:
    page = open_page(browser, f"{predict_url}/?lesson=01_predict&step=2&predict=0")
    try:
        expect(page.locator(".sqe-sql pre").first).to_contain_text("INSERT INTO hero", timeout=WAIT_MS)
        assert page.get_by_role("button", name="Reveal").count() == 0
        page.goto(f"{predict_url}/?lesson=01_predict&step=2")  # type: ignore[attr-defined]
        page.get_by_role("button", name="Reveal").click()  # type: ignore[attr-defined]
        expect(page.locator(".sqe-sql pre").first).to_contain_text("INSERT INTO hero", timeout=WAIT_MS)
    finally:
        page.context.close()  # type: ignore[attr-defined]


def test_an_exercise_is_checked_in_the_sandbox(browser: object, predict_url: str) -> None:
    page = open_page(browser, f"{predict_url}/?lesson=01_predict&step=3")
    try:
        box = page.get_by_role("textbox", name="The cell's code")
        expect(box).to_be_visible(timeout=WAIT_MS)
        box.fill("heroes = session.exec(select(Hero)).all()\nagain = session.exec(select(Hero)).all()\n")
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.get_by_text(re.compile("select == 1:\u2060? 2 SELECTs"))).to_be_visible(timeout=WAIT_MS)
        expect(
            page.get_by_text(re.compile("Hint:\u2060? One SELECT of every hero is enough."))
        ).to_be_visible()
        box.fill("heroes = session.exec(select(Hero)).all()\nprint('heroes:', len(heroes))\n")
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.get_by_text("Check passed.")).to_be_visible(timeout=WAIT_MS)
        _shot(page, "exercise-passed")
    finally:
        page.context.close()  # type: ignore[attr-defined]
