"""The lesson page's Database switch: SQLite and PostgreSQL side by side, from the address too.

Lessons are traced in this process (as in test_app.py) on the session's private PostgreSQL
cluster (tests/conftest.py), named to the app by ``SQLECHO_POSTGRES_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.app.test_app import _app, _clean, _html, _messages, _settings  # noqa: F401  (the fixture: in-process lessons)


@pytest.fixture
def on_postgres(monkeypatch: pytest.MonkeyPatch, postgres_server: Any) -> None:
    monkeypatch.setenv(
        "SQLECHO_POSTGRES_URL",
        f"postgresql://sqlecho:{postgres_server.password}@/postgres?host={postgres_server.socket_dir}",
    )
    monkeypatch.delenv("SQLECHO_POSTGRES", raising=False)


@pytest.mark.postgres
def test_the_database_switch_shows_sqlite_and_postgresql_side_by_side(on_postgres: None) -> None:
    at = _app(lesson="01_first_steps", step="3")
    _clean(at)
    switch = at.segmented_control(key="w_db")
    assert switch.value == "sqlite" and not switch.disabled
    switch.set_value("postgresql").run()
    _clean(at)
    assert at.query_params == {"lesson": "01_first_steps", "step": "3", "db": "postgresql"}
    html = _html(at)
    assert '<div class="sqe-h">On SQLite' in html and '<div class="sqe-h">On PostgreSQL 1' in html
    # The commit's INSERTs: PostgreSQL sends both heroes in one INSERT ... RETURNING, said in a sentence.
    assert (
        "<b>Compared with PostgreSQL:</b><ul><li>With PostgreSQL this INSERT (flush, line 32) is gone."
        in html
    )
    assert "RETURNING</span>" in html
    at.segmented_control(key="w_db").set_value("sqlite").run()
    assert "On PostgreSQL" not in _html(at) and "db" not in at.query_params


@pytest.mark.postgres
def test_a_shared_link_opens_the_postgresql_comparison(on_postgres: None) -> None:
    at = _app(lesson="01_first_steps", step="3", db="postgresql")
    _clean(at)
    assert at.segmented_control(key="w_db").value == "postgresql"
    assert "Compared with PostgreSQL:" in _html(at)
    assert _messages(at) == []


def test_an_unknown_database_in_the_address_is_named_and_sqlite_is_shown() -> None:
    at = _app(lesson="01_first_steps", step="3", db="oracle")
    _clean(at)
    assert (
        "“db=oracle” is not a database sqlecho runs lessons on (use sqlite or postgresql); showing SQLite."
        in (_messages(at))
    )
    assert at.segmented_control(key="w_db").value == "sqlite"
    assert "Compared with" not in _html(at)


def test_without_postgresql_the_switch_is_greyed_out_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_POSTGRES", "off")
    at = _app(lesson="01_first_steps", step="2", db="postgresql")
    _clean(at)
    switch = at.segmented_control(key="w_db")
    assert switch.disabled and switch.value == "sqlite"
    reason = "PostgreSQL is turned off on this server (SQLECHO_POSTGRES=off)."
    assert f"PostgreSQL is not available here: {reason} Showing SQLite." in _messages(at)
    assert any(reason in caption.value for caption in at.sidebar.caption)
    assert "Compared with" not in _html(at)


def test_presenter_mode_has_its_own_database_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_POSTGRES", "off")
    at = _app(lesson="01_first_steps", step="2", presenter="1")
    _clean(at)
    switch = at.segmented_control(key="w_db_presenter")
    assert switch.value == "sqlite" and switch.disabled  # the sidebar is folded away: it is here too


def test_kept_traces_and_stored_transcripts_are_told_apart_by_database(tmp_path: Path) -> None:
    from sqlecho._app.store import TranscriptStore
    from sqlecho._app.traces import TraceCache
    from sqlecho._trace.options import TraceOptions

    calls: list[str] = []

    def runner(source: str, path: Path, options: TraceOptions, name: str, **_: object) -> dict[str, Any]:
        calls.append(options.database)
        return {"source": name, "status": "ok", "steps": []}

    cache = TraceCache(runner)
    program = tmp_path / "p.py"
    for database in ("sqlite", "postgresql", "sqlite", "postgresql"):
        cache.trace("x = 1\n", program, TraceOptions(database=database), "p.py")
    assert calls == ["sqlite", "postgresql"]  # each run once, neither served for the other
    store = TranscriptStore(tmp_path, "sandbox")
    keys = {store.key("x = 1\n", program, TraceOptions(database=d), "p.py") for d in ("sqlite", "postgresql")}
    assert len(keys) == 2
