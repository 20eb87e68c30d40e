"""Lesson 28 on PostgreSQL in Chromium: ``&db=postgresql`` shows SQLite and PostgreSQL side by
side, the row lock really taken on PostgreSQL (``FOR UPDATE``) and a second session stopped by it.

The app runs the lessons in the sandbox, as deployed, on the session's private PostgreSQL cluster
(tests/conftest.py), named by ``SQLECHO_POSTGRES_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browsing import WAIT_MS, open_page, shot, streamlit_app

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.sandbox]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

(LESSON,) = [path.stem for path in (Path(__file__).parents[2] / "lessons").glob("[0-9][0-9]_concurrency.py")]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, postgres_server: Any, bwrap: str) -> Iterator[str]:
    url = f"postgresql://sqlecho:{postgres_server.password}@/postgres?host={postgres_server.socket_dir}"
    env = {"SQLECHO_POOL_SIZE": "1", "SQLECHO_POSTGRES_URL": url, "SQLECHO_CACHE_DIR": "off"}
    with streamlit_app(tmp_path_factory.mktemp("streamlit"), env) as address:
        yield address


@pytest.mark.parametrize("size", [(1280, 720), (390, 844)], ids=["laptop", "phone"])
def test_lesson_28_on_postgresql_shows_the_lock_taken_and_a_second_session_stopped(
    browser: object, app_url: str, size: tuple[int, int]
) -> None:
    page = open_page(browser, f"{app_url}/?lesson={LESSON}&step=7&predict=0&db=postgresql", *size)
    try:
        # The with_for_update step: PostgreSQL's SELECT ends in FOR UPDATE, and a sentence says so.
        expect(page.get_by_text("Step 7 of")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator('.sqe-h:has-text("On PostgreSQL 1")').first).to_be_attached(timeout=WAIT_MS)
        note = page.locator(".sqe-diff li", has_text="locks the rows it reads (FOR UPDATE)")
        expect(note.first).to_be_visible(timeout=WAIT_MS)
        assert "On PostgreSQL this SELECT" in note.first.inner_text()
        events = page.locator(".sqe-events").all_inner_texts()
        assert sum("FOR UPDATE" in text for text in events) == 1, events  # PostgreSQL's column only
        page.locator(".sqe-events").last.scroll_into_view_if_needed()
        shot(page, "postgresql-switch" if size[0] > 640 else "postgresql-switch-phone")
        # The next step: a second FOR UPDATE of the row waits, until its lock_timeout gives up.
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text("Step 8 of")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("canceling statement due to lock timeout").first).to_be_attached(
            timeout=WAIT_MS
        )
        assert "db=postgresql" in page.url
    finally:
        page.context.close()
