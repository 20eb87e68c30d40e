"""The test API neither passes a test it should fail nor fails one it should pass: captures
never started, misspelt kinds, the wrong engine, and N+1 that transactions, threads or commits
would hide or fake."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sqlecho import capture
from sqlecho.testing import (
    EmptyCaptureWarning,
    SQLAssertionError,
    allow_n_plus_one,
    assert_count,
    assert_no_n_plus_one,
    assert_sql,
    n_plus_one_report,
    no_sql,
)
from tests.helpers import ROOT
from tests.hero_models import Base, Hero, Team


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


@pytest.fixture
def other() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


# -- a capture that was never started ----------------------------------------------------------


def test_a_capture_never_entered_is_an_error_when_used(engine: Engine) -> None:
    cap = capture(engine)  # no `with`
    with Session(engine) as session:
        session.scalars(select(Hero)).all()
    with pytest.raises(RuntimeError, match="never started: use it as `with capture"):
        cap.count()
    with pytest.raises(RuntimeError, match="never started"):
        cap.statements  # noqa: B018
    with pytest.raises(RuntimeError, match=r"assert_no_n_plus_one\(\) got a Capture that was never started"):
        assert_no_n_plus_one(cap)
    with pytest.raises(RuntimeError, match=r"assert_count\(\) got a Capture that was never started"):
        assert_count(cap, select=0)
    assert repr(cap) == "<Capture new: not started>"


def test_count_rejects_a_kind_it_does_not_count(engine: Engine) -> None:
    with capture(engine) as cap, engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with pytest.raises(TypeError, match="unknown kind 'selects'; the kinds it counts are: select, insert"):
        cap.count("selects")
    assert cap.count("SELECT") == 1


# -- the wrong engine --------------------------------------------------------------------------


def test_a_capture_that_heard_only_set_up_while_other_engines_worked_warns(
    engine: Engine, other: Engine
) -> None:
    with capture(other) as cap:
        with other.connect() as conn:
            conn.execute(text("PRAGMA foreign_keys=ON"))  # the watched engine's chatter
        with Session(engine) as session:
            session.scalars(select(Hero)).all()  # the work, elsewhere
    message = r"only schema changes or connection set-up on Engine\(sqlite://\), while other engines ran 1"
    with pytest.warns(EmptyCaptureWarning, match=message):
        assert_count(cap, select=0)
    with pytest.warns(EmptyCaptureWarning, match=message):
        assert_no_n_plus_one(cap)


def test_strict_fails_on_a_capture_that_heard_only_set_up(engine: Engine, other: Engine) -> None:
    with pytest.raises(AssertionError, match=r"capture\(strict=True\) saw only schema changes"):
        with capture(other, strict=True):
            with other.connect() as conn:
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
            with Session(engine) as session:
                session.scalars(select(Hero)).all()


def test_no_sql_on_another_engine_warns(engine: Engine, other: Engine) -> None:
    with pytest.warns(
        EmptyCaptureWarning, match=r"no_sql\(\) passed on Engine\(sqlite://\), while other engines"
    ):
        with no_sql(other), Session(engine) as session:
            session.scalars(select(Hero)).all()


def test_the_right_engine_does_not_warn(engine: Engine) -> None:
    with capture(engine) as cap, Session(engine) as session:
        session.scalars(select(Hero)).all()
    assert_count(cap, select=1)  # filterwarnings = error: a warning would fail this test


# -- info= ----------------------------------------------------------------------------------------


def test_assertions_show_the_users_message_first(engine: Engine) -> None:
    with capture(engine) as cap, Session(engine) as session:
        [hero.team for hero in session.scalars(select(Hero))]
    with pytest.raises(SQLAssertionError, match=r"^the hero list\nstatement counts differ"):
        assert_count(cap, select=1, info="the hero list")
    with pytest.raises(SQLAssertionError, match=r"^the hero list\ncaptured SQL differs"):
        assert_sql(cap, "SELECT 1", info="the hero list")
    with pytest.raises(SQLAssertionError, match=r"^the hero list\nN\+1 queries"):
        assert_no_n_plus_one(cap, info="the hero list")
    with pytest.raises(SQLAssertionError, match=r"^cached\nexpected no SQL"):
        with no_sql(engine, info="cached"), Session(engine) as session:
            session.get(Hero, 1)


# -- N+1 that transactions or threads would hide ------------------------------------------------


def test_a_commit_inside_the_loop_does_not_hide_the_n_plus_one(engine: Engine) -> None:
    with Session(engine) as session, capture(engine) as cap:
        for hero in session.scalars(select(Hero)).all():
            hero.name = hero.team.name if hero.team else ""
            session.commit()
    findings = {finding.cause: finding.count for finding in n_plus_one_report(cap)}
    assert findings["lazy load Hero.team"] == 3
    assert findings["load expired Hero"] == 2  # the second and third hero, expired by a commit


def test_another_threads_transaction_does_not_hide_the_n_plus_one(engine: Engine) -> None:
    def elsewhere() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))

    with Session(engine) as session, capture(engine) as cap:
        for hero in session.scalars(select(Hero)).all():
            worker = threading.Thread(target=elsewhere)
            worker.start()
            worker.join()
            hero.team  # noqa: B018
    [finding] = n_plus_one_report(cap)
    assert (finding.cause, finding.count) == ("lazy load Hero.team", 3)


def test_a_loop_through_a_helper_function_is_one_n_plus_one(engine: Engine) -> None:
    def team_of(session: Session, hero: Hero) -> Team | None:
        return session.get(Team, hero.team_id)

    with Session(engine) as session, capture(engine) as cap:
        for hero in session.scalars(select(Hero)).all():
            team_of(session, hero)
    [finding] = n_plus_one_report(cap)
    assert (finding.cause, finding.count) == ("get Team", 3)


# -- and none where there is none ---------------------------------------------------------------


def test_two_objects_read_on_two_lines_are_not_an_n_plus_one(engine: Engine) -> None:
    with Session(engine) as session, capture(engine) as cap:
        first, second = session.scalars(select(Hero).limit(2)).all()
        session.commit()
        print(first.id)  # reloads after the commit
        print(second.id)
        first.team  # noqa: B018
        second.team  # noqa: B018
    assert cap.count("select") == 5
    assert n_plus_one_report(cap) == []


def test_a_session_per_turn_is_separate_units_of_work(engine: Engine) -> None:
    with capture(engine) as cap:
        for number in (1, 2, 3):
            with Session(engine) as session:
                hero = session.scalars(select(Hero).where(Hero.id == number)).one()
                hero.team  # noqa: B018
    assert cap.count("select") == 6
    assert_no_n_plus_one(cap)


def test_a_finding_names_every_line_of_its_loop(engine: Engine) -> None:
    with Session(engine) as session, capture(engine) as cap:
        for hero in session.scalars(select(Hero)).all():
            if hero.id % 2:
                hero.team  # noqa: B018
            else:
                hero.team  # noqa: B018
    [finding] = n_plus_one_report(cap)
    assert finding.count == 3
    assert len(finding.lines) == 2
    assert str(finding).startswith(f"{finding.lines[0]}, {finding.lines[1]}: lazy load Hero.team ran 3 times")


# -- allow rules -------------------------------------------------------------------------------


def test_an_allow_block_allows_the_loads_inside_it_only(engine: Engine) -> None:
    with Session(engine) as session, capture(engine) as cap:
        with allow_n_plus_one("Hero.team"):
            [hero.team for hero in session.scalars(select(Hero))]
    assert_no_n_plus_one(cap)
    with Session(engine) as session, capture(engine) as cap:
        with allow_n_plus_one("Team"):  # another class
            [hero.team for hero in session.scalars(select(Hero))]
    assert len(n_plus_one_report(cap)) == 1


def test_an_allow_rule_must_say_something() -> None:
    with pytest.raises(ValueError, match="allow_n_plus_one\\(\\) takes rules such as 'Hero.team', not ''"):
        allow_n_plus_one("")
    with pytest.raises(TypeError, match="needs at least one rule"):
        allow_n_plus_one()
