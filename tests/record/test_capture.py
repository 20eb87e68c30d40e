"""``sqlecho.capture``: what it records, from which targets, and that it always lets go."""

from __future__ import annotations

import asyncio
import operator
import sqlite3
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    Session,
    scoped_session,
    selectinload,
    sessionmaker,
    subqueryload,
)
from sqlalchemy.pool import StaticPool

from sqlecho import Capture, capture
from sqlecho._transcript.counting import kind_of
from tests.helpers import ROOT
from tests.hero_models import Base, Hero, Team

HERE = "tests/record/test_capture.py"
_EVENTS = ("begin", "commit", "rollback", "before_cursor_execute", "after_cursor_execute", "handle_error")


def _engine(**options: Any) -> Engine:
    engine = create_engine("sqlite://", **options)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Hero(name=f"Hero {n}", team=Team(name=f"Team {n}")) for n in range(2)])
        session.commit()
    return engine


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    # Paths in events are relative to the working directory: make it the repository's.
    monkeypatch.chdir(ROOT)
    engine = _engine()
    yield engine
    engine.dispose()


def _next_line() -> int:
    """The line after the caller's: for ``line = _next_line()`` just above a statement."""
    return sys._getframe(1).f_lineno + 1


def _listeners(target: Any) -> list[tuple[str, Any]]:
    """Every listener on ``target`` for the events a capture uses (handle_error is the dialect's)."""
    found = []
    for name in _EVENTS:
        dispatch = target.dialect.dispatch if name == "handle_error" else target.dispatch
        found.extend((name, fn) for fn in getattr(dispatch, name))
    return found


def _untimed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in record.items() if not key.endswith("_ms")} for record in events]


# -- what is recorded --------------------------------------------------------------------------


def test_statements_are_folded_and_leave_transaction_control_out(engine: Engine) -> None:
    with capture(engine) as cap, engine.begin() as conn:
        conn.execute(text("SELECT name\n   FROM   hero\nWHERE id = :id"), {"id": 1})
    assert cap.statements == ["SELECT name FROM hero WHERE id = ?"]
    assert [record["kind"] for record in cap.events] == ["begin", "sql", "commit"]


def test_an_event_says_what_was_sent_and_which_line_sent_it(engine: Engine) -> None:
    with capture(engine) as cap, engine.connect() as conn:
        line = _next_line()
        conn.execute(text("SELECT name FROM hero WHERE id = :id"), {"id": 2})
    begin, sql = _untimed(cap.events)[:2]
    assert begin == {"kind": "begin", "line": line, "file": HERE}
    assert sql == {
        "kind": "sql",
        "line": line,
        "statement": "SELECT name FROM hero WHERE id = ?",
        "parameters": [2],
        "executemany": False,
        "cause": "execute",  # a textual statement, not an ORM query
        "file": HERE,
        "rowcount": -1,
    }
    assert cap.events[1]["duration_ms"] >= 0


def _load_team(hero: Hero) -> Team | None:
    return hero.team  # the line a lazy load is blamed on


def test_the_line_is_the_first_of_user_code_also_inside_a_helper(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        hero = session.get(Hero, 1)
        assert hero is not None
        _load_team(hero)
    lazy = cap.sql_events[-1]
    assert lazy["cause"] == "lazy load Hero.team"
    assert (lazy["file"], lazy["line"]) == (HERE, _load_team.__code__.co_firstlineno + 1)


def test_a_file_outside_the_working_directory_keeps_its_absolute_path(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlecho._record import paths

    monkeypatch.chdir(tmp_path)
    previous = paths.set_root(None)  # outside pytest's plugin: relative to the working directory
    try:
        with capture(engine) as cap, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        paths.set_root(previous)
    assert cap.events[0]["file"] == str(ROOT / HERE)


def test_causes_say_why_the_orm_sent_a_statement(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        session.add(Hero(name="New"))
        session.scalars(select(Hero).where(Hero.name == "New")).one()
        hero = session.get(Hero, 1)
        assert hero is not None
        session.commit()
        hero.name  # noqa: B018 - reloads the expired attributes
    causes = [record["cause"] for record in cap.sql_events]
    # Labels follow first appearance: "New" comes back from the query first.
    assert causes == ["autoflush", "query", "get", "load expired Hero#2"]


def test_eager_loads_say_which_strategy_sent_their_select(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        session.scalars(select(Hero).options(selectinload(Hero.team))).all()
        session.expunge_all()
        session.scalars(select(Hero).options(subqueryload(Hero.team))).all()
    causes = [record["cause"] for record in cap.sql_events]
    assert causes[0] == "query" and causes[2] == "query"
    assert causes[1] == "selectin load Hero.team"
    assert causes[3].startswith("subquery load")


def test_causes_name_statements_the_program_sent_itself(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        session.execute(text("SELECT name FROM hero")).all()
        session.execute(update(Hero).where(Hero.id == 1).values(name="Renamed"))
        session.execute(insert(Hero), [{"name": "C"}, {"name": "D"}])
        session.execute(delete(Hero).where(Hero.name == "D"))
    causes = [record["cause"] for record in cap.sql_events]
    assert causes == ["execute", "bulk update", "bulk insert", "bulk delete"]


def test_a_statement_sent_from_an_event_listener_says_so(engine: Engine) -> None:
    def count_heroes(_mapper: Any, connection: Any, _target: Any) -> None:
        connection.execute(text("SELECT count(*) FROM hero")).scalar()

    event.listen(Hero, "after_insert", count_heroes)
    try:
        with Session(engine) as session, capture(session) as cap:
            session.add(Hero(name="Listened"))
            session.flush()
    finally:
        event.remove(Hero, "after_insert", count_heroes)
    assert [record["cause"] for record in cap.sql_events] == ["flush", "event listener"]


def test_an_expired_object_loaded_through_a_relationship_names_it(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        hero = session.get(Hero, 1)
        assert hero is not None
        team = hero.team
        session.expire_all()
        hero.team_id  # noqa: B018 - reloads the hero's own columns
        assert hero.team is team  # the identity map gives the team back, expired: reloaded
    causes = [record["cause"] for record in cap.sql_events]
    assert causes == [
        "get",
        "lazy load Hero.team",
        "load expired Hero#1",
        "load expired Team#1 via Hero.team",
    ]


def test_savepoint_sql_appears_once(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        with session.begin_nested():
            session.add(Hero(name="Nested"))
        session.commit()
    assert cap.statements == [
        "SAVEPOINT sa_savepoint_1",
        "INSERT INTO hero (name, team_id) VALUES (?, ?)",
        "RELEASE SAVEPOINT sa_savepoint_1",
    ]
    assert [record["cause"] for record in cap.sql_events] == ["savepoint", "flush", "savepoint"]
    assert cap.count("savepoint") == 2


def test_executemany_keeps_every_row(engine: Engine) -> None:
    table = Base.metadata.tables["team"]
    with capture(engine) as cap, engine.begin() as conn:
        conn.execute(insert(table), [{"name": "A"}, {"name": "B"}])
    [record] = cap.sql_events
    assert record["executemany"] is True
    assert record["parameters"] == [["A"], ["B"]]


def test_a_failed_statement_records_the_error_and_lets_it_through(engine: Engine) -> None:
    with pytest.raises(OperationalError), capture(engine) as cap, engine.connect() as conn:
        conn.execute(text("SELECT name FROM nowhere"))
    [record] = cap.sql_events
    assert record["error"] == "OperationalError: no such table: nowhere"
    assert not cap.active


def test_counts_by_kind(engine: Engine) -> None:
    with capture(engine) as cap, engine.begin() as conn:
        conn.execute(text("INSERT INTO team (name) VALUES ('X')"))
        conn.execute(text("UPDATE team SET name = 'Y' WHERE name = 'X'"))
        conn.execute(text("SELECT 1"))
        conn.execute(text("WITH named AS (SELECT name FROM team) SELECT count(*) FROM named"))
        conn.execute(text("SELECT 1 UNION SELECT 2"))
        conn.execute(text("DELETE FROM team WHERE name = 'Y'"))
    assert [cap.count(kind) for kind in ("select", "insert", "update", "delete")] == [3, 1, 1, 1]
    assert cap.count("SELECT") == 3
    assert cap.count() == 6
    assert (cap.count("begin"), cap.count("commit"), cap.count("rollback")) == (1, 1, 0)
    with pytest.raises(TypeError, match="count\\(\\) takes a statement kind such as 'select', not int"):
        cap.count(1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("select 1", "select"),
        ("  (SELECT 1) UNION (SELECT 2)", "select"),
        ("WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT n + 1 FROM t) SELECT n FROM t", "select"),
        ("WITH gone AS (SELECT id FROM hero) DELETE FROM hero WHERE id IN (SELECT id FROM gone)", "delete"),
        ("WITH 'a(' AS (SELECT 1) INSERT INTO t VALUES (1)", "insert"),
        ("SAVEPOINT sa_savepoint_1", "savepoint"),
        ("RELEASE SAVEPOINT sa_savepoint_1", "savepoint"),
        ("ROLLBACK TO SAVEPOINT sa_savepoint_1", "savepoint"),
        ("ROLLBACK", "rollback"),
        ("CREATE TABLE t (x INTEGER)", "create"),
        ("PRAGMA main.table_info('hero')", "pragma"),
        ("", ""),
    ],
)
def test_kind_of_a_statement(statement: str, kind: str) -> None:
    assert kind_of(statement) == kind


def test_transaction_sql_sent_as_a_statement_is_not_a_statement(engine: Engine) -> None:
    # The pysqlite recipe for SAVEPOINT support sends BEGIN itself.
    with capture(engine) as cap, engine.connect() as conn:
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT 1")
        conn.exec_driver_sql("COMMIT")
    assert cap.statements == ["SELECT 1"]
    assert [record["statement"] for record in cap.events if record["kind"] == "sql"] == [
        "BEGIN",
        "SELECT 1",
        "COMMIT",
    ]


# -- results ------------------------------------------------------------------------------------


def test_results_are_live_and_final_after_the_block(engine: Engine) -> None:
    with capture(engine) as cap, engine.connect() as conn:
        assert cap.active and cap.statements == []
        conn.execute(text("SELECT 1"))
        assert cap.statements == ["SELECT 1"]
        conn.execute(text("SELECT 2"))
    assert not cap.active
    assert cap.statements == ["SELECT 1", "SELECT 2"]
    assert repr(cap) == "<Capture closed: 2 statements>"


def test_results_are_copies(engine: Engine) -> None:
    with capture(engine) as cap, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    cap.events[1]["statement"] = "changed"
    cap.statements.append("changed")
    assert cap.statements == ["SELECT 1"]


def test_the_same_block_twice_gives_equal_results() -> None:
    def run() -> Capture:
        engine = _engine()
        with Session(engine) as session, capture(session) as cap:
            for hero in session.scalars(select(Hero)):
                hero.team  # noqa: B018
            session.add(Hero(name="Again"))
            session.commit()
        engine.dispose()
        return cap

    first, second = run(), run()
    assert _untimed(first.events) == _untimed(second.events)
    assert first.snapshot() == second.snapshot()
    assert [record["kind"] for record in first.events] == ["begin", "sql", "sql", "sql", "sql", "commit"]


def test_a_capture_is_used_once(engine: Engine) -> None:
    cap = capture(engine)
    with cap:
        pass
    with pytest.raises(RuntimeError, match="already been used; call capture"), cap:
        pass


def test_snapshot_records_series_dialect_transactions_statements_params_and_causes(engine: Engine) -> None:
    import sqlalchemy

    with capture(engine) as cap, Session(engine) as session:
        session.scalars(select(Hero.name).where(Hero.id == 1)).one()
        session.commit()
    major, minor = sqlalchemy.__version__.split(".")[:2]
    statement = "SELECT hero.name FROM hero WHERE hero.id = ?"
    assert cap.snapshot() == {
        "sqlalchemy": f"{major}.{minor}",
        "dialect": "sqlite",
        "events": ["BEGIN (implicit)", {"sql": statement, "params": [1], "cause": "query"}, "COMMIT"],
    }
    assert cap.snapshot(params=False, causes=False, transactions=False)["events"] == [{"sql": statement}]


def test_snapshots_keep_the_series_not_the_patch_release() -> None:
    from sqlecho._record.capture import series

    assert series("2.1.9") == series("2.1.10") == series("2.1.10rc1") == "2.1"
    assert series("2.0.36") != series("2.1.0")


def test_with_no_target_every_engine_is_captured_also_one_created_inside(engine: Engine) -> None:
    with capture() as cap:
        other = create_engine("sqlite://")
        with engine.connect() as conn, other.connect() as conn2:
            conn.execute(text("SELECT 1"))
            conn2.execute(text("SELECT 2"))
        other.dispose()
    assert cap.statements == ["SELECT 1", "SELECT 2"]
    assert cap.target == "every engine"
    assert cap.snapshot()["dialect"] == "sqlite"


def test_with_no_target_async_engines_are_captured() -> None:
    async def main() -> None:
        async_engine = create_async_engine("sqlite+aiosqlite://")
        async with async_engine.connect() as conn:
            await conn.execute(text("SELECT 3"))
        await async_engine.dispose()

    with capture() as cap:
        asyncio.run(main())
    assert cap.statements == ["SELECT 3"]
    assert cap.events[-1]["file"] == HERE


def test_strict_raises_when_nothing_at_all_was_captured(engine: Engine) -> None:
    other = create_engine("sqlite://")
    with pytest.raises(
        AssertionError, match=r"capture\(strict=True\) saw no SQL at all on Engine\(sqlite://\)"
    ):
        with capture(engine, strict=True), other.connect() as conn:
            conn.execute(text("SELECT 1"))
    with capture(other, strict=True) as cap, other.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert cap.count() == 1
    # The block's own exception passes through unchanged.
    with pytest.raises(ZeroDivisionError), capture(engine, strict=True):
        1 / 0  # noqa: B018


def test_the_line_skips_installed_packages_by_path_not_by_name(engine: Engine) -> None:
    import json

    from sqlecho._record import paths

    assert paths.is_library(json.__file__)
    assert paths.is_library(sqlite3.__file__)
    assert paths.is_library("<frozen importlib._bootstrap>")
    assert paths.is_library("/somewhere/lib/python3.11/site-packages/anything/mod.py")
    assert paths.is_library("/usr/lib/python3/dist-packages/anything/mod.py")
    assert not paths.is_library(str(ROOT / HERE))
    assert not paths.is_library("<string>")

    # A stdlib callback (json's object_hook) runs the query: the line is ours, not json's.
    def hook(value: dict[str, Any]) -> dict[str, Any]:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return value

    with capture(engine) as cap:
        json.loads("{}", object_hook=hook)
    [record] = cap.sql_events
    assert (record["file"], record["line"]) == (HERE, hook.__code__.co_firstlineno + 2)


def test_paths_are_relative_to_the_root_the_plugin_sets(engine: Engine) -> None:
    from sqlecho._record import paths

    previous = paths.set_root(ROOT / "tests")
    try:
        with capture(engine) as cap, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        paths.set_root(previous)
    assert cap.events[0]["file"] == "record/test_capture.py"


def test_get_and_refresh_are_marked_and_name_their_object(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        hero = session.get(Hero, 1)
        assert hero is not None
        session.refresh(hero)
    get, refresh = cap.sql_events
    assert (get["via"], get["cause"]) == ("get", "get")
    assert (refresh["cause"], refresh["object"]) == ("refresh Hero#1", "Hero#1")
    assert "via" not in refresh


def test_a_lazy_load_with_no_user_frame_is_placed_where_its_parent_rows_were_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    # One connection shared across threads, as a FastAPI test's StaticPool engine has.
    engine = _engine(poolclass=StaticPool, connect_args={"check_same_thread": False})
    with Session(engine) as session:
        with capture(session) as cap:
            heroes = session.scalars(select(Hero).order_by(Hero.id)).all()
            loaded_at = sys._getframe().f_lineno - 1
            # A worker thread whose stack holds only the standard library, as when a web
            # framework serialises the response: no frame of ours sends the lazy loads.
            with ThreadPoolExecutor(1) as pool:
                list(pool.map(operator.attrgetter("team"), heroes))
    lazy = [record for record in cap.sql_events if record["cause"] == "lazy load Hero.team"]
    assert lazy
    for record in lazy:
        assert (record["file"], record["line"], record["located"]) == (HERE, loaded_at, "parent rows")
    assert [record["object"] for record in lazy] == [f"Hero#{n}" for n in range(1, len(lazy) + 1)]


# -- listeners always go --------------------------------------------------------------------------


def test_listeners_are_removed_when_the_block_raises(engine: Engine) -> None:
    before = _listeners(engine)
    with pytest.raises(ZeroDivisionError), capture(engine):
        installed = [item for item in _listeners(engine) if item not in before]
        1 / 0  # noqa: B018
    # One more, on every engine: statements that other engines send (a wrong-engine warning).
    assert len(installed) == len(_EVENTS) + 1
    assert all(event.contains(engine, name, fn) is False for name, fn in installed)
    assert _listeners(engine) == before


def test_listeners_on_a_connection_are_removed_too(engine: Engine) -> None:
    with engine.connect() as conn:
        with pytest.raises(KeyError), capture(conn):
            on_conn = _listeners(conn)
            on_engine = [(name, fn) for name, fn in _listeners(engine) if name == "handle_error"]
            raise KeyError("boom")
        assert on_conn and on_engine
        assert not any(event.contains(conn, name, fn) for name, fn in on_conn if name != "handle_error")
        assert not any(event.contains(engine, name, fn) for name, fn in on_engine)


def test_a_failure_inside_the_recorder_is_reported_at_exit(engine: Engine) -> None:
    class Unprintable:
        def __repr__(self) -> str:
            raise ValueError("no repr")

    sqlite3.register_adapter(Unprintable, lambda _value: "stored")
    try:
        with pytest.raises(RuntimeError, match="sqlecho could not record an event"):
            with capture(engine), engine.connect() as conn:
                # The statement itself succeeds: the program under test is never disturbed.
                assert conn.execute(text("SELECT :x"), {"x": Unprintable()}).scalar() == "stored"
    finally:
        del sqlite3.adapters[(Unprintable, sqlite3.PrepareProtocol)]
    assert _listeners(engine) == []


# -- targets --------------------------------------------------------------------------------------


def test_nested_captures_each_see_their_own_block(engine: Engine) -> None:
    with capture(engine) as outer, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        with capture(engine) as inner:
            conn.execute(text("SELECT 2"))
        conn.execute(text("SELECT 3"))
    assert outer.statements == ["SELECT 1", "SELECT 2", "SELECT 3"]
    assert inner.statements == ["SELECT 2"]


def test_two_engines_at_once(engine: Engine) -> None:
    other = create_engine("sqlite://")
    with capture(engine, other) as both, capture(other) as only_other:
        with engine.connect() as conn:
            conn.execute(text("SELECT 'first'"))
        with other.connect() as conn:
            conn.execute(text("SELECT 'second'"))
    other.dispose()
    assert both.statements == ["SELECT 'first'", "SELECT 'second'"]
    assert only_other.statements == ["SELECT 'second'"]


def test_a_connection_is_captured_alone(engine: Engine) -> None:
    with engine.connect() as watched, engine.connect() as other, capture(watched) as cap:
        watched.execute(text("SELECT 'watched'"))
        other.execute(text("SELECT 'other'"))
        with pytest.raises(OperationalError):
            watched.execute(text("SELECT * FROM missing"))
        with pytest.raises(OperationalError):
            other.execute(text("SELECT * FROM missing_too"))
    assert cap.statements == ["SELECT 'watched'", "SELECT * FROM missing"]
    assert cap.sql_events[1]["error"] == "OperationalError: no such table: missing"


def test_an_engine_and_its_connection_are_not_captured_twice(engine: Engine) -> None:
    with engine.connect() as conn, capture(engine, conn, engine) as cap:
        conn.execute(text("SELECT 1"))
    assert cap.statements == ["SELECT 1"]


def test_sessions_and_sessionmakers_are_captured_through_their_binds(engine: Engine) -> None:
    factory = sessionmaker(engine)
    scoped = scoped_session(factory)
    with engine.connect() as conn:
        for target in (Session(engine), Session(bind=conn), factory, scoped):
            with capture(target) as cap, Session(conn) as session:
                session.execute(text("SELECT 1"))
            assert cap.statements == ["SELECT 1"], target
    scoped.remove()


def test_a_session_with_one_engine_per_model_is_captured_on_all(engine: Engine) -> None:
    other = _engine()
    session = Session(binds={Hero: engine, Team: other})
    with capture(session) as cap:
        session.get(Hero, 1)
        session.get(Team, 1)
    session.close()
    other.dispose()
    assert cap.count("select") == 2


def test_bad_targets_get_clear_messages() -> None:
    with pytest.raises(TypeError, match="capture\\(\\) takes an Engine, Connection, Session or sessionmaker"):
        capture("sqlite://")
    with pytest.raises(ValueError, match="this Session has no bind"):
        capture(Session())
    with pytest.raises(ValueError, match="this sessionmaker has no bind"):
        capture(sessionmaker())


def test_asyncio_engines_sessions_and_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    results: dict[str, Capture] = {}

    async def main() -> int:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'async.db'}")
        table = Table("item", MetaData(), Column("id", Integer, primary_key=True), Column("name", String))
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
        with capture(engine) as results["engine"]:
            async with AsyncSession(engine) as session:
                with capture(session) as results["session"]:
                    line = _next_line()
                    await session.execute(insert(table).values(name="a"))
                    await session.commit()
        async with engine.connect() as conn:
            with (
                capture(conn) as results["connection"],
                capture(async_sessionmaker(engine)) as results["factory"],
            ):
                await conn.execute(select(table.c.name))
        await engine.dispose()
        return line

    # A thread of its own: another test's browser may keep an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        line = pool.submit(asyncio.run, main()).result()
    insert_sql = "INSERT INTO item (name) VALUES (?)"
    assert results["engine"].statements == results["session"].statements == [insert_sql]
    assert results["connection"].statements == results["factory"].statements == ["SELECT item.name FROM item"]
    # The line is the awaiting coroutine's, found across the greenlet SQLAlchemy runs sync code in.
    sql = results["session"].sql_events[0]
    assert (sql["file"], sql["line"]) == (HERE, line)


@pytest.mark.parametrize(
    ("options", "lock"),
    [
        ({}, "FOR UPDATE"),
        ({"read": True}, "FOR SHARE"),
        ({"nowait": True}, "FOR UPDATE NOWAIT"),
        ({"skip_locked": True}, "FOR UPDATE SKIP LOCKED"),
    ],
)
def test_a_row_lock_is_recorded_where_sqlite_leaves_it_out(
    engine: Engine, options: dict[str, Any], lock: str
) -> None:
    with capture(engine) as cap, Session(engine) as session:
        session.scalars(select(Hero).with_for_update(**options)).all()
        session.scalars(select(Hero)).all()
    first, second = cap.sql_events
    assert "FOR" not in first["statement"]  # SQLite's compiler drops it...
    assert first["lock"] == lock  # ...the transcript keeps what the program asked for
    assert "lock" not in second
