"""Predict mode and an exercise in a real browser (Chromium through Playwright), keyboard only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

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
        question = page.get_by_label("How many INSERT statements?")
        expect(question).to_be_visible(timeout=WAIT_MS)
        assert page.locator(".sqe-sql").count() == 0  # the SQL stays hidden until answered
        question.focus()  # type: ignore[attr-defined]
        page.keyboard.type("1")  # type: ignore[attr-defined]
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        expect(page.get_by_label("How many COMMITs?")).to_be_focused()
        page.keyboard.type("1")  # type: ignore[attr-defined]
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        expect(page.get_by_role("radio", name="transient")).to_be_focused()  # the state chips are next
        page.get_by_role("radio", name="persistent").focus()  # type: ignore[attr-defined]
        page.keyboard.press("Space")  # type: ignore[attr-defined]
        expect(page.get_by_role("radio", name="persistent")).to_be_checked()
        _shot(page, "predict-state-question")
        page.get_by_role("button", name="Check my prediction").focus()  # type: ignore[attr-defined]
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


# What a predicted step with an exercise must not show before its reveal: its SQL, its check,
# its "after" text, its claims (as written or as "What to look for"), the exercise box.
_ANSWER = (
    "WHERE hero.name",
    "select == 1; prints",
    "identity map, a query asks",
    "Expect: 1 SELECT",
    "What to look for",
    "Exercise",
)


def _off_host(url: str) -> bool:
    """A request for anything but this server (a blob: of the page itself is local)."""
    if url.startswith("data:"):
        return False
    return urlsplit(url.removeprefix("blob:")).hostname not in ("127.0.0.1", "localhost")


@pytest.mark.parametrize("size", [(1280, 720), (390, 844)])
def test_nothing_of_the_answer_is_in_the_page_before_reveal(
    browser: object, predict_url: str, size: tuple[int, int]
) -> None:
    page = open_page(browser, f"{predict_url}/?lesson=01_predict&step=4", *size)
    try:
        question = page.get_by_label("How many SELECT statements?")
        expect(question).to_be_visible(timeout=WAIT_MS)
        expect(question).to_have_value("")  # no default answer
        html = page.content()  # type: ignore[attr-defined]
        assert not [part for part in _ANSWER if part in html]
        _shot(page, f"predict-exercise-before-{size[0]}")
        page.get_by_role("button", name="Reveal").click()  # type: ignore[attr-defined]
        expect(page.get_by_text("identity map, a query asks")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_role("textbox", name="The cell's code")).to_be_visible()
    finally:
        page.context.close()  # type: ignore[attr-defined]


def test_the_last_step_is_revealed_and_the_score_survives_a_reload_and_a_new_tab(
    browser: object, predict_url: str
) -> None:
    page = open_page(browser, f"{predict_url}/?lesson=01_predict&step=4")
    outside: list[str] = []
    page.context.on(  # type: ignore[attr-defined]
        "request", lambda request: outside.append(request.url) if _off_host(request.url) else None
    )
    try:
        expect(page.get_by_label("How many SELECT statements?")).to_be_visible(timeout=WAIT_MS)
        page.get_by_label("How many SELECT statements?").fill("1")  # type: ignore[attr-defined]
        page.get_by_text("'Deadpond'", exact=True).click()  # type: ignore[attr-defined]  # a choice
        page.get_by_role("button", name="Check my prediction").click()  # type: ignore[attr-defined]
        expect(page.get_by_text("You predicted it.")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("Score: 1 of 2")).to_be_visible()
        expect(page.get_by_role("heading", name="Lesson summary")).to_be_visible()
        page.get_by_text("Lesson summary").scroll_into_view_if_needed()  # type: ignore[attr-defined]
        _shot(page, "lesson-summary")
        page.reload()  # type: ignore[attr-defined]
        expect(page.get_by_text("Score: 1 of 2")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("You predicted it.")).to_be_visible()
        other = page.context.new_page()  # type: ignore[attr-defined]
        other.goto(f"{predict_url}/?lesson=01_predict&step=4")
        expect(other.get_by_text("Score: 1 of 2")).to_be_visible(timeout=WAIT_MS)
        other.close()
        page.get_by_role("button", name="Clear my answers").click()  # type: ignore[attr-defined]
        expect(page.get_by_text("Score: 0 of 2")).to_be_visible(timeout=WAIT_MS)
        page.reload()  # type: ignore[attr-defined]
        expect(page.get_by_label("How many SELECT statements?")).to_be_visible(timeout=WAIT_MS)
        page.get_by_role("button", name=re.compile("Next lesson")).click()  # type: ignore[attr-defined]
        expect(page.get_by_text("Revealed without a prediction.")).to_be_visible(timeout=WAIT_MS)
        page.get_by_role("button", name=re.compile("Next lesson")).click()  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name="After predicting")).to_be_visible(timeout=WAIT_MS)
        assert outside == []  # no request leaves the server (the favicon is ours)
    finally:
        page.context.close()  # type: ignore[attr-defined]
