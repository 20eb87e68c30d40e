"""Live edit in Chromium: edit a step of lesson 04 with the keyboard in presenter mode, run it in
the sandbox, read the side-by-side view and its named difference; open the address in a fresh
browser and see the same; undo. At a projector (1920x1080), a laptop (1280x720) and a phone
(390x844), with an axe-core audit of the edited view.

Screenshots land in test-artifacts/ (``live-edit-*.png``): docs/live-edit*.png are copies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browsing import ARTIFACTS, WAIT_MS, streamlit_app
from tests.helpers import LESSONS

pytestmark = [pytest.mark.browser]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

PROJECTOR = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
LESSON = "04_expire_on_commit"
STEP = "?lesson=04_expire_on_commit&step=2&predict=0"
EDITOR = f".st-key-edit_{LESSON}_1_code textarea"
REFRESH = "session.refresh(tides)"
EXTRA_SELECT = re.compile(r"With your edits there is an extra SELECT \(refresh Book#1, line \d+\)\.")
GONE_SELECT = re.compile(r"With your edits this SELECT \(load expired Book#1, line \d+\) is gone\.")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` serving the real lessons; edits run in the sandbox."""
    env = {"SQLECHO_LESSONS": str(LESSONS), "SQLECHO_POOL_SIZE": "1", "SQLECHO_USER_LIMITS": "wall_time=10"}
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), env) as url:
        yield url


@pytest.fixture
def new_page(browser: Any, app_url: str) -> Iterator[Any]:
    """A page in a browser context of its own (a fresh browser: no session, no storage) at a
    viewport, opened at ``app_url + query`` once its step bar is drawn."""
    contexts: list[Any] = []

    def opener(query: str, viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{app_url}/{query}")
        expect(page.get_by_text("Step ", exact=False).first).to_be_visible(timeout=WAIT_MS)
        # The run is over once its last controls are drawn (a first page waits for its lesson's
        # trace while the server warms the others).
        expect(page.get_by_role("button", name="Edit this step")).to_be_visible(timeout=WAIT_MS)
        return page

    yield opener
    for context in contexts:
        context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, page.viewport_size["height"] - 1)  # no tooltip in the picture
    page.wait_for_timeout(500)  # the last blocks of the run settle
    page.screenshot(path=str(ARTIFACTS / f"live-edit-{name}.png"))


def _run(page: Any, editor: Any, code: str) -> None:
    """Type ``code`` into the editor, hand it to the page (Ctrl+Enter), then press Run."""
    editor.fill(code)
    editor.press("Control+Enter")
    page.wait_for_timeout(500)  # that rerun first: a click while it runs may be lost
    page.get_by_role("button", name="Run", exact=True).click()


def _compared(page: Any) -> Any:
    return page.locator(".sqe-diff >> visible=true").first


def test_edit_run_compare_link_and_undo_at_a_projector(new_page: Any) -> None:
    page = new_page(STEP + "&presenter=1", PROJECTOR)
    expect(page.get_by_text("Step 2 of", exact=False).first).to_be_visible()
    page.keyboard.press("e")  # the keyboard's way to the editor
    editor = page.locator(EDITOR)
    expect(editor).to_be_focused(timeout=WAIT_MS)
    code = editor.input_value()
    assert code.startswith('tides = Book(title="Tides of Ink", year=2021)')
    _run(page, editor, code.replace("session.commit()\n", f"session.commit()\n{REFRESH}\n"))
    expect(_compared(page)).to_contain_text(EXTRA_SELECT, timeout=WAIT_MS)
    expect(page.locator(".sqe-h", has_text="With your edits").first).to_be_visible()
    expect(page.locator(".sqe-h", has_text="Edited code").first).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]edits=[A-Za-z0-9_-]+"))
    page.get_by_role("button", name="Next", exact=True).click()  # from that step on
    expect(_compared(page)).to_contain_text(GONE_SELECT, timeout=WAIT_MS)
    _shot(page, "1920")
    link = page.url

    fresh = new_page(link.split("/", 3)[3], PROJECTOR)  # another browser: only the address
    expect(_compared(fresh)).to_contain_text(GONE_SELECT, timeout=WAIT_MS)
    expect(fresh.get_by_text("The code of the edited steps came from this page's link.")).to_be_visible()
    fresh.get_by_role("button", name="Undo edits").click()
    expect(fresh.locator(".sqe-diff")).to_have_count(0, timeout=WAIT_MS)
    expect(fresh).not_to_have_url(re.compile("edits="))


def test_the_edited_view_on_a_laptop_and_a_phone(new_page: Any, axe_script: str) -> None:
    page = new_page(STEP, LAPTOP)
    page.get_by_role("button", name="Edit this step").click()
    editor = page.locator(EDITOR)
    _run(page, editor, editor.input_value().replace("session.commit()\n", f"session.commit()\n{REFRESH}\n"))
    expect(_compared(page)).to_contain_text(EXTRA_SELECT, timeout=WAIT_MS)
    _shot(page, "1280")
    link = page.url.split("/", 3)[3]
    phone = new_page(link, PHONE)
    expect(_compared(phone)).to_contain_text(EXTRA_SELECT, timeout=WAIT_MS)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
    _shot(phone, "390")
    page.add_script_tag(content=axe_script)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{item['id']}: {item['help']}"
        for item in result["violations"]
        if item["impact"] in ("serious", "critical")
    ]
    assert serious == []


def test_a_cell_that_does_not_parse_is_named_in_place(new_page: Any) -> None:
    page = new_page(STEP, LAPTOP)
    page.get_by_role("button", name="Edit this step").click()
    _run(page, page.locator(EDITOR), "session.commit(\n")
    expect(page.get_by_text("This code has a syntax error at line 1, column 15")).to_be_visible(
        timeout=WAIT_MS
    )
    expect(page.locator(".sqe-diff")).to_have_count(0)


def test_lesson_06_refresh_before_the_close_at_a_projector(new_page: Any) -> None:
    """The classroom question "what if we refresh before the session closes?", asked live."""
    page = new_page("?lesson=06_closing_the_session&step=2&predict=0&presenter=1", PROJECTOR)
    page.keyboard.press("e")
    editor = page.locator(".st-key-edit_06_closing_the_session_1_code textarea")
    expect(editor).to_be_focused(timeout=WAIT_MS)
    code = editor.input_value()
    assert code.rstrip().endswith("session.commit()")
    _run(page, editor, code.rstrip() + "\n    session.refresh(lantern)\n")
    kept = "With your edits, Book#1 keeps its loaded values: nothing is expired."
    expect(_compared(page)).to_contain_text(kept, timeout=WAIT_MS)
    page.get_by_role("button", name="Next", exact=True).click()  # the read after the close
    expect(_compared(page)).to_contain_text("With your edits this step raises no error.", timeout=WAIT_MS)
    fresh = new_page(page.url.split("/", 3)[3], PROJECTOR)  # another browser: only the address
    expect(_compared(fresh)).to_contain_text("With your edits this step raises no error.", timeout=WAIT_MS)
    fresh.get_by_role("button", name="Undo edits").click()
    expect(fresh.locator(".sqe-diff")).to_have_count(0, timeout=WAIT_MS)
    expect(fresh).not_to_have_url(re.compile("edits="))
