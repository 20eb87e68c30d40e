"""Tests as a user of sqlecho writes them: only the public API and the ``sql_capture`` fixture.

A teacher grades an exercise ("this must take exactly one SELECT"); a developer guards
against N+1 regressions. The models use their own registry because other tests in this
suite reset SQLModel's shared one; a user's own suite would write ``SQLModel`` directly.
(No ``from __future__ import annotations`` here: SQLModel reads relationship annotations.)
"""

import pytest
from sqlalchemy.orm import registry, selectinload
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select

from sqlecho import capture
from sqlecho.testing import (
    AtMost,
    SQLAssertionError,
    assert_count,
    assert_no_n_plus_one,
    assert_sql,
    n_plus_one_report,
    no_sql,
)


class Base(SQLModel, registry=registry()):
    pass


class Team(Base, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    heroes: list["Hero"] = Relationship(back_populates="team")


class Hero(Base, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    team_id: int | None = Field(default=None, foreign_key="team.id")
    team: Team | None = Relationship(back_populates="heroes")


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for number in range(3):
            session.add(Hero(name=f"Hero {number}", team=Team(name=f"Team {number}")))
        session.commit()
    yield engine
    engine.dispose()


# -- the exercise under test ---------------------------------------------------------------------


def rename_hero(session: Session, hero_id: int, name: str) -> None:
    hero = session.get(Hero, hero_id)
    assert hero is not None
    hero.name = name
    session.commit()


def team_names_slow(session: Session) -> list[str]:
    return [hero.team.name for hero in session.exec(select(Hero).order_by(Hero.id)) if hero.team]


def team_names_fast(session: Session) -> list[str]:
    heroes = session.exec(select(Hero).order_by(Hero.id).options(selectinload(Hero.team)))
    return [hero.team.name for hero in heroes if hero.team]


# -- a teacher's tests ---------------------------------------------------------------------------


def test_rename_takes_one_select_and_one_update(engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        rename_hero(session, 1, "Deadpond")

    assert_sql(
        cap,
        [
            "SELECT hero.id, hero.name, hero.team_id FROM hero WHERE hero.id = ?",
            "UPDATE hero SET name=? WHERE hero.id = ?",
        ],
        params=[[1], ["Deadpond", 1]],
    )
    assert cap.count("select") == 1
    assert cap.count("commit") == 1


def test_expected_sql_may_be_written_over_several_lines_and_with_wildcards(engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        rename_hero(session, 2, "Rusty-Man")

    assert_sql(
        cap,
        [
            """
            SELECT hero.id, hero.name, hero.team_id
            FROM hero
            WHERE hero.id = ?
            """,
            "UPDATE hero SET ...",
        ],
    )


def test_a_wrong_answer_fails_with_a_diff(engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        rename_hero(session, 1, "Deadpond")

    with pytest.raises(SQLAssertionError) as failure:
        assert_sql(cap, ["UPDATE hero SET name=? WHERE hero.id = ?"])
    message = str(failure.value)
    assert message.startswith("captured SQL differs from expected: 1 expected, 2 captured\n")
    assert (
        "--- expected\n"
        "+++ captured\n"
        "@@ -1 +1,2 @@\n"
        "+SELECT hero.id, hero.name, hero.team_id FROM hero WHERE hero.id = ?\n"
        " UPDATE hero SET name=? WHERE hero.id = ?\n"
    ) in message
    assert "captured 2 statements:\n" in message


def test_counts_with_an_upper_bound(engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        team_names_fast(session)
    assert_count(cap, select=AtMost(2), insert=0, update=0)


# -- a developer's guards ------------------------------------------------------------------------


def test_the_fast_version_has_no_n_plus_one(engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        assert team_names_fast(session) == ["Team 0", "Team 1", "Team 2"]
    assert_no_n_plus_one(cap)
    assert cap.count("select") == 2


def test_the_slow_version_is_caught(engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        assert team_names_slow(session) == ["Team 0", "Team 1", "Team 2"]

    [finding] = n_plus_one_report(cap)
    assert finding.count == 3
    assert finding.cause == "lazy load Hero.team"
    assert finding.statement == "SELECT team.id, team.name FROM team WHERE team.id = ?"
    with pytest.raises(SQLAssertionError, match=r"selectinload\(Hero\.team\)"):
        assert_no_n_plus_one(cap)


def test_a_loaded_object_comes_from_the_identity_map(engine) -> None:
    with Session(engine) as session:
        hero = session.get(Hero, 1)
        with no_sql(session):
            assert session.get(Hero, 1) is hero


def test_an_expired_object_is_not_free(engine) -> None:
    with Session(engine) as session:
        hero = session.get(Hero, 1)
        assert hero is not None
        session.commit()  # expires every loaded object
        with pytest.raises(SQLAssertionError, match="expected no SQL in this block, but it sent 1 statement"):
            with no_sql(session):
                assert hero.name == "Hero 0"


def test_the_fixture_gives_the_same_context_manager(engine, sql_capture) -> None:
    with Session(engine) as session, sql_capture(session) as cap:
        session.add(Hero(name="Spider-Boy"))
        session.commit()
    assert cap.statements == ["INSERT INTO hero (name, team_id) VALUES (?, ?)"]
    assert [event["kind"] for event in cap.events] == ["begin", "sql", "commit"]


def test_results_are_live_inside_the_block(engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        hero = session.get(Hero, 1)
        assert cap.count("select") == 1
        assert hero is not None
        hero.team  # noqa: B018 - the lazy load is the point
        assert cap.count("select") == 2


def test_the_same_block_captured_twice_gives_equal_results(engine) -> None:
    def run() -> dict:
        with Session(engine) as session, capture(session) as cap:
            team_names_slow(session)
        return cap.snapshot()

    assert run() == run()
