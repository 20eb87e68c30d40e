"""``sqlecho.testing``: each assertion passes when it should, and its failure message, exactly."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest.mock import ANY

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from sqlecho import Capture, capture
from sqlecho.testing import (
    AtLeast,
    AtMost,
    EmptyCaptureWarning,
    NPlusOne,
    SQLAssertionError,
    assert_count,
    assert_no_n_plus_one,
    assert_sql,
    n_plus_one_report,
    no_sql,
)
from tests.helpers import ROOT
from tests.hero_models import Base, Hero, Team

HERE = "tests/testing/test_assertions.py"


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.chdir(ROOT)  # event paths are relative to the working directory
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Hero(name=f"Hero {n}", team=Team(name=f"Team {n}")) for n in range(3)])
        session.commit()
    yield engine
    engine.dispose()


def _line() -> int:
    """The caller's line number."""
    return sys._getframe(1).f_lineno


def _two_statements(engine: Engine) -> tuple[Capture, int]:
    """INSERT (sent from the returned line) then SELECT (the next line), in one transaction."""
    with capture(engine) as cap, engine.begin() as conn:
        line = _line() + 1
        conn.execute(text("INSERT INTO team (name) VALUES (:name)"), {"name": "X"})
        conn.execute(text("SELECT 1"))
    return cap, line


# -- assert_sql -----------------------------------------------------------------------------------


def test_assert_sql_passes_on_the_same_statements(engine: Engine) -> None:
    cap, _ = _two_statements(engine)
    assert_sql(cap, ["INSERT INTO team (name) VALUES (?)", "SELECT 1"])
    assert_sql(cap, ["  INSERT INTO team\n  (name)\n  VALUES (?)", "SELECT 1"])  # whitespace folded
    assert_sql(cap, ["INSERT INTO team ...", "..."])
    assert_sql(cap, ["SELECT 1", "INSERT INTO team (name) VALUES (?)"], ordered=False)
    assert_sql(cap, ["INSERT ...", "SELECT 1"], params=[("X",), []])
    assert_sql(cap, ["INSERT ...", "SELECT 1"], params=[[ANY], ANY])


def test_a_string_is_one_statement(engine: Engine) -> None:
    with capture(engine) as cap, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert_sql(cap, "SELECT 1")


def test_named_and_executemany_parameters(engine: Engine) -> None:
    with capture(engine) as cap, engine.begin() as conn:
        conn.exec_driver_sql("SELECT :a, :b", {"a": 1, "b": "two"})
        conn.execute(insert(Team), [{"name": "A"}, {"name": "B"}])
    assert_sql(
        cap,
        ["SELECT :a, :b", "INSERT INTO team (name) VALUES (?)"],
        params=[{"a": 1, "b": "two"}, [("A",), ("B",)]],
    )


def test_the_diff_shows_a_missing_statement(engine: Engine) -> None:
    cap, line = _two_statements(engine)
    with pytest.raises(SQLAssertionError) as failure:
        assert_sql(cap, ["SELECT 1"])
    assert str(failure.value) == (
        "captured SQL differs from expected: 1 expected, 2 captured\n"
        "--- expected\n"
        "+++ captured\n"
        "@@ -1 +1,2 @@\n"
        "+INSERT INTO team (name) VALUES (?)\n"
        " SELECT 1\n"
        "\n"
        "captured 2 statements:\n"
        f"  1. {HERE}:{line}  execute  INSERT INTO team (name) VALUES (?)\n"
        f"  2. {HERE}:{line + 1}  execute  SELECT 1"
    )


def test_the_diff_shows_wildcard_matches_as_written(engine: Engine) -> None:
    cap, _ = _two_statements(engine)
    with pytest.raises(SQLAssertionError) as failure:
        assert_sql(cap, ["INSERT INTO team ...", "SELECT 2"])
    assert "@@ -1,2 +1,2 @@\n INSERT INTO team ...\n-SELECT 2\n+SELECT 1\n\n" in str(failure.value)


def test_the_diff_shows_parameters_when_they_are_checked(engine: Engine) -> None:
    cap, line = _two_statements(engine)
    with pytest.raises(SQLAssertionError) as failure:
        assert_sql(cap, ["INSERT INTO team (name) VALUES (?)", "SELECT 1"], params=[["Y"], ANY])
    indent = " " * len(f"  1. {HERE}:{line}  execute  ")  # parameters go under their statement
    assert str(failure.value) == (
        "captured SQL differs from expected: 2 expected, 2 captured\n"
        "--- expected\n"
        "+++ captured\n"
        "@@ -1,2 +1,2 @@\n"
        "-INSERT INTO team (name) VALUES (?)  -- params: ['Y']\n"
        "+INSERT INTO team (name) VALUES (?)  -- params: ['X']\n"
        " SELECT 1  -- params: <ANY>\n"
        "\n"
        "captured 2 statements:\n"
        f"  1. {HERE}:{line}  execute  INSERT INTO team (name) VALUES (?)\n"
        f"{indent}params: ['X']\n"
        f"  2. {HERE}:{line + 1}  execute  SELECT 1\n"
        f"{indent}params: []"
    )


def test_in_any_order_the_diff_is_sorted(engine: Engine) -> None:
    cap, _ = _two_statements(engine)
    with pytest.raises(SQLAssertionError) as failure:
        assert_sql(cap, ["SELECT 1", "UPDATE team SET name = ?"], ordered=False)
    assert str(failure.value).startswith(
        "captured SQL differs from expected (in any order): 2 expected, 2 captured\n"
        "--- expected\n"
        "+++ captured\n"
        "@@ -1,2 +1,2 @@\n"
        "+INSERT INTO team (name) VALUES (?)\n"
        " SELECT 1\n"
        "-UPDATE team SET name = ?\n"
    )


def test_in_any_order_a_wildcard_does_not_steal_an_exact_match(engine: Engine) -> None:
    with capture(engine) as cap, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        conn.execute(text("SELECT 2"))
    # A greedy pairing would give "SELECT 1" to "SELECT ..." and leave "SELECT 1" unmatched.
    assert_sql(cap, ["SELECT ...", "SELECT 1"], ordered=False)


def test_assert_sql_rejects_bad_arguments(engine: Engine) -> None:
    cap, _ = _two_statements(engine)
    with pytest.raises(
        TypeError, match=r"params needs one entry per expected statement \(2 statements, 1 params\)"
    ):
        assert_sql(cap, ["INSERT ...", "SELECT 1"], params=[["X"]])
    with pytest.raises(TypeError, match="expected statements are strings, not int"):
        assert_sql(cap, [1, 2])  # type: ignore[list-item]


# -- assert_count ---------------------------------------------------------------------------------


def test_assert_count_exact_and_bounded(engine: Engine) -> None:
    cap, _ = _two_statements(engine)
    assert_count(cap, insert=1, select=1, update=0, total=2)
    assert_count(cap, select=AtMost(1), insert=AtLeast(1), commit=1, begin=AtMost(1))


def test_assert_count_names_each_count_that_differs(engine: Engine) -> None:
    cap, line = _two_statements(engine)
    with pytest.raises(SQLAssertionError) as failure:
        assert_count(cap, select=0, insert=AtMost(1), update=AtLeast(1), commit=2)
    assert str(failure.value) == (
        "statement counts differ from expected:\n"
        "  select: expected 0, captured 1\n"
        "  update: expected at least 1, captured 0\n"
        "  commit: expected 2, captured 1\n"
        "\n"
        "captured 2 statements:\n"
        f"     {HERE}:{line - 2}           BEGIN (implicit)\n"
        f"  1. {HERE}:{line}  execute  INSERT INTO team (name) VALUES (?)\n"
        f"  2. {HERE}:{line + 1}  execute  SELECT 1\n"
        f"     {HERE}:{line - 2}           COMMIT"
    )


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_counts_must_be_counts(engine: Engine, bad: object) -> None:
    cap, _ = _two_statements(engine)
    with pytest.raises(TypeError, match="takes a count"):
        assert_count(cap, select=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"AtMost\(\) takes a count \(an int >= 0\)"):
        AtMost(bad)  # type: ignore[arg-type]


def test_assert_count_needs_something_to_check(engine: Engine) -> None:
    cap, _ = _two_statements(engine)
    with pytest.raises(TypeError, match="needs at least one count"):
        assert_count(cap)


# -- no_sql ---------------------------------------------------------------------------------------


def test_no_sql_passes_when_the_identity_map_answers(engine: Engine) -> None:
    with Session(engine) as session:
        hero = session.get(Hero, 1)
        with no_sql(session) as cap:
            assert session.get(Hero, 1) is hero
        assert cap.statements == []


def test_no_sql_fails_naming_the_statement_and_its_line(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(SQLAssertionError) as failure:
            with no_sql(session):
                line = _line() + 1
                session.get(Hero, 2)
    assert str(failure.value) == (
        "expected no SQL in this block, but it sent 1 statement:\n"
        f"  1. {HERE}:{line}  get  SELECT hero.id, hero.name, hero.team_id FROM hero WHERE hero.id = ?"
    )


def test_no_sql_lets_an_exception_from_the_block_through(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(LookupError), no_sql(session):
            session.get(Hero, 2)
            raise LookupError("the block's own error wins")
    assert list(engine.dispatch.before_cursor_execute) == []


# -- N+1 ------------------------------------------------------------------------------------------


def _team_names(session: Session, *options: object) -> list[str]:
    return [hero.team.name for hero in session.scalars(select(Hero).options(*options)) if hero.team]  # type: ignore[arg-type]


def test_n_plus_one_report_names_statement_count_line_and_cause(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        _team_names(session)
    line = _team_names.__code__.co_firstlineno + 1
    assert n_plus_one_report(cap) == [
        NPlusOne(
            statement="SELECT team.id, team.name FROM team WHERE team.id = ?",
            count=3,
            file=HERE,
            line=line,
            cause="lazy load Hero.team",
            objects=("Hero#1", "Hero#2", "Hero#3"),
        )
    ]
    assert n_plus_one_report(cap, threshold=4) == []


def test_assert_no_n_plus_one_explains_the_fix(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        _team_names(session)
    line = _team_names.__code__.co_firstlineno + 1
    with pytest.raises(SQLAssertionError) as failure:
        assert_no_n_plus_one(cap)
    where = f"{HERE}:{line}"
    assert str(failure.value) == (
        "N+1 queries: 1 load repeated one object at a time\n"
        f"  {where}: lazy load Hero.team ran 3 times for Hero#1, Hero#2, Hero#3\n"
        "      SELECT team.id, team.name FROM team WHERE team.id = ?\n"
        "    fix: load Hero.team together with the Hero rows: select(Hero).options(selectinload(Hero.team))\n"
        "\n"
        "captured 4 statements:\n"
        f"  1. {where}  query                SELECT hero.id, hero.name, hero.team_id FROM hero\n"
        f"  2. {where}  lazy load Hero.team  SELECT team.id, team.name FROM team WHERE team.id = ?\n"
        f"  3. {where}  lazy load Hero.team  SELECT team.id, team.name FROM team WHERE team.id = ?\n"
        f"  4. {where}  lazy load Hero.team  SELECT team.id, team.name FROM team WHERE team.id = ?"
    )


def test_selectinload_is_not_n_plus_one(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        _team_names(session, selectinload(Hero.team))
    assert_no_n_plus_one(cap)
    assert cap.count("select") == 2


def test_the_same_select_from_two_lines_is_not_n_plus_one(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        session.get(Hero, 1)
        session.expunge_all()
        session.get(Hero, 1)
    assert cap.statements[0] == cap.statements[1]
    assert n_plus_one_report(cap) == []


def test_a_query_in_a_loop_and_expired_reloads_are_n_plus_one(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        heroes = [session.scalars(select(Hero).where(Hero.id == n)).one() for n in (1, 2, 3)]
        session.commit()
        [hero.name for hero in heroes if hero]  # noqa: B018 - each reloads after the commit's expiry
    query, expired = n_plus_one_report(cap)
    assert (query.count, query.cause, query.objects) == (3, "query", ())
    assert query.advice().startswith("run one query for all the rows (WHERE ... IN (...))")
    assert (expired.count, expired.cause) == (3, "load expired Hero")
    assert expired.objects == ("Hero#1", "Hero#2", "Hero#3")
    assert "expire_on_commit=False" in expired.advice()
    assert "selectinload" not in expired.advice()


def test_refresh_in_a_loop_and_gets_on_separate_lines_are_not_n_plus_one(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        first = session.get(Hero, 1)
        second = session.get(Hero, 2)
        for hero in (first, second):
            session.refresh(hero)
    assert cap.count("select") == 4
    assert n_plus_one_report(cap) == []


def test_get_in_a_loop_over_a_querys_rows_is_n_plus_one(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        heroes = session.scalars(select(Hero)).all()
        teams = [session.get(Team, hero.team_id) for hero in heroes]
    assert len(teams) == 3
    [finding] = n_plus_one_report(cap)
    assert (finding.cause, finding.count) == ("get Team", 3)
    assert str(finding).splitlines()[0].endswith("Session.get(Team, ...) ran 3 times")
    assert finding.advice() == (
        "load all the Team rows with one query, select(Team).where(Team.id.in_(ids)), "
        "or reach them through a relationship loaded with selectinload"
    )


def test_repetitions_count_per_transaction(engine: Engine) -> None:
    # Three requests, each its own transaction: add, commit, then read the new row back.
    with capture(engine) as cap:
        for number in range(3):
            with Session(engine) as session:
                hero = Hero(name=f"New {number}")
                session.add(hero)
                session.commit()
                session.scalars(select(Hero).where(Hero.id == hero.id)).one()  # hero.id: a reload
    assert cap.count("select") == 6
    assert n_plus_one_report(cap) == []


def test_threshold_must_be_two_or_more(engine: Engine) -> None:
    cap, _ = _two_statements(engine)
    with pytest.raises(ValueError, match="threshold must be an int of at least 2, not 1"):
        n_plus_one_report(cap, threshold=1)


# -- the listing ----------------------------------------------------------------------------------


def test_a_statement_with_no_user_code_on_the_stack_has_no_location(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'threads.db'}")  # a file: shared across threads
    with capture(engine) as cap, engine.connect() as conn:
        # The thread runs SQLAlchemy directly: no line of user code caused the statement.
        thread = threading.Thread(target=conn.exec_driver_sql, args=("SELECT 1",))
        thread.start()
        thread.join()
    engine.dispose()
    assert (cap.sql_events[0]["file"], cap.sql_events[0]["line"]) == (None, None)
    with pytest.raises(SQLAssertionError) as failure:
        assert_sql(cap, [])
    assert str(failure.value).endswith("captured 1 statement:\n  1. ?  execute  SELECT 1")


def test_a_long_listing_stops_after_fifty_statements(engine: Engine) -> None:
    with capture(engine) as cap, engine.connect() as conn:
        for number in range(60):
            conn.execute(text(f"SELECT {number}"))
    with pytest.raises(SQLAssertionError) as failure:
        assert_count(cap, select=0)
    lines = str(failure.value).splitlines()
    assert lines[3] == "captured 60 statements:"
    assert lines[-2].endswith("  SELECT 49")
    assert lines[-1] == "  ... and 10 more"


@pytest.mark.parametrize(
    "check",
    [
        lambda value: assert_sql(value, []),
        lambda value: assert_count(value, select=1),
        n_plus_one_report,
        assert_no_n_plus_one,
    ],
    ids=["assert_sql", "assert_count", "n_plus_one_report", "assert_no_n_plus_one"],
)
def test_passing_something_else_than_a_capture_is_explained(
    engine: Engine, check: Callable[[object], object]
) -> None:
    with capture(engine) as cap:
        pass
    with pytest.raises(TypeError, match=r"takes the Capture of `with capture\(engine\) as cap:`, not list"):
        check(cap.statements)


# -- no silent passes -----------------------------------------------------------------------------


def test_assert_count_rejects_an_unknown_kind_naming_the_valid_ones(engine: Engine) -> None:
    with capture(engine) as cap, Session(engine) as session:
        session.scalars(select(Hero)).all()
    with pytest.raises(TypeError) as failure:
        assert_count(cap, selects=0)
    assert str(failure.value) == (
        "assert_count() got an unknown kind 'selects'; the kinds it counts are: "
        "total, select, insert, update, delete, savepoint, create, drop, alter, pragma, begin, commit, rollback"
    )


def test_a_pass_on_a_capture_that_saw_nothing_warns_naming_the_target(engine: Engine) -> None:
    other = create_engine("sqlite://")
    with capture(other) as cap, Session(engine) as session:  # the code uses another engine
        session.scalars(select(Hero)).all()
    message = r"assert_count\(\) passed on a capture that saw no SQL at all on Engine\(sqlite://\)"
    with pytest.warns(EmptyCaptureWarning, match=message):
        assert_count(cap, select=0, insert=0)
    with pytest.warns(EmptyCaptureWarning, match=r"assert_sql\(\) passed on a capture that saw no SQL"):
        assert_sql(cap, [])
    with pytest.warns(EmptyCaptureWarning, match=r"assert_sql\(\)"):
        assert_sql(cap, [], ordered=False)


def test_no_warning_when_something_was_captured(engine: Engine) -> None:
    with capture(engine) as cap, Session(engine) as session:
        session.get(Hero, 1)
        session.rollback()
    with capture(engine) as only_begin, engine.connect() as conn:
        conn.begin()
    assert_count(cap, select=1, insert=0)  # filterwarnings = error: a warning would fail here
    assert_count(only_begin, select=0)


def test_capture_with_no_target_sees_the_engine_the_code_really_uses(engine: Engine) -> None:
    module_engine = create_engine("sqlite://")  # what the test meant to watch
    with capture() as cap, Session(engine) as session:
        session.scalars(select(Hero)).all()
    assert_count(cap, select=1)
    module_engine.dispose()
