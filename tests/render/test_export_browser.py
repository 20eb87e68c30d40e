"""Exported pages in a real Chromium, opened from ``file://`` with every other request blocked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from tests.helpers import FIXTURES
from tests.render.test_export import in_process

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    lessons = FIXTURES / "lessons"
    argv = [
        "export",
        str(lessons / "01_first_steps.py"),
        str(lessons / "02_relationships.py"),
        "-o",
        str(out),
    ]
    assert main([*argv, "--switches"], runner=in_process) == 0
    return out


@pytest.fixture
def page(chromium: str) -> Iterator[tuple[Any, list[str]]]:
    """A page where every request that is not for a ``file:`` URL is blocked and remembered."""
    blocked: list[str] = []

    def block(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.route(lambda url: not url.startswith("file:"), block)
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            yield tab, blocked
            assert errors == []
        finally:
            browser.close()


def _at(tab: Any, n: int) -> None:
    expect(tab.locator(".sqx-n")).to_have_text(str(n))
    expect(tab.locator(f'.sqx-step[data-step="{n}"]')).to_be_visible()
    assert tab.locator(".sqx-step:visible").count() == 1


def test_step_n_in_the_address_opens_it_and_the_address_follows(
    page: tuple[Any, list[str]], site: Path
) -> None:
    tab, blocked = page
    tab.goto((site / "01_first_steps.html").as_uri() + "#step=3")
    _at(tab, 3)
    tab.keyboard.press("ArrowRight")
    _at(tab, 4)
    assert tab.url.endswith("#step=4")
    tab.keyboard.press("ArrowLeft")
    tab.keyboard.press("ArrowLeft")
    _at(tab, 2)
    assert tab.url.endswith("#step=2")
    tab.keyboard.press("End")
    count = tab.locator(".sqx-step").count()
    _at(tab, count)
    expect(tab.get_by_role("button", name="Next ›")).to_be_hidden()  # the last step leads on
    expect(tab.get_by_role("link", name="Next lesson: Lazy loading ›")).to_be_visible()
    tab.keyboard.press("Home")
    _at(tab, 1)
    tab.get_by_role("button", name="Next ›").click()
    _at(tab, 2)
    tab.get_by_role("button", name="Last »").click()
    _at(tab, count)
    tab.locator(".sqx-slider").fill("2")
    _at(tab, 2)
    tab.evaluate("window.location.hash = '#step=5'")  # an edited address, or a pasted link
    _at(tab, 5)
    tab.goto((site / "01_first_steps.html").as_uri() + "#step=999")  # too far: the last step
    _at(tab, count)
    assert blocked == []


def test_switches_show_the_compared_run(page: tuple[Any, list[str]], site: Path) -> None:
    tab, blocked = page
    tab.goto((site / "01_first_steps.html").as_uri() + "#step=3")
    step = tab.locator('.sqx-step[data-step="3"]')
    expect(step.locator('.sqx-run[data-run="0"]')).to_be_visible()
    tab.locator(".sqx-runs").select_option("1")
    expect(step.locator('.sqx-run[data-run="1"]')).to_be_visible()
    expect(step.locator('.sqx-run[data-run="0"]')).to_be_hidden()
    expect(step.locator(".sqe-h", has_text="With expire_on_commit=False").first).to_be_visible()
    tab.keyboard.press("ArrowRight")  # the run chosen stays chosen from step to step
    expect(tab.locator('.sqx-step[data-step="4"] .sqx-run[data-run="1"]')).to_be_visible()
    assert blocked == []


def test_the_index_links_to_each_lesson(page: tuple[Any, list[str]], site: Path) -> None:
    tab, blocked = page
    tab.goto((site / "index.html").as_uri())
    tab.get_by_role("link", name="Lazy loading").click()
    expect(tab).to_have_url((site / "02_relationships.html").as_uri())
    _at(tab, 1)
    tab.get_by_role("link", name="All lessons").click()
    expect(tab).to_have_url((site / "index.html").as_uri())
    assert blocked == []
