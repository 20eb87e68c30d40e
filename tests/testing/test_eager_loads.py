"""Unused eager loads: reported when nothing read what they loaded, never when something did
(a loop, a template, a response model, pydantic, another thread), and without an observer
effect."""

import asyncio
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import Environment
from sqlalchemy import Engine, ForeignKey, create_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    InstrumentedAttribute,
    Mapped,
    contains_eager,
    joinedload,
    lazyload,
    mapped_column,
    relationship,
    selectinload,
    subqueryload,
)
from sqlmodel import Session, select

from sqlecho import capture
from sqlecho.testing import (
    EmptyCaptureWarning,
    SQLAssertionError,
    UnusedEagerLoad,
    assert_no_unused_eager_loads,
    capture_requests,
    unused_eager_loads,
)
from tests.testing.eager_api import make_eager_app
from tests.testing.heroes_api import Base as HeroBase
from tests.testing.heroes_api import Hero, HeroPublicWithTeam, Team, new_engine

with warnings.catch_warnings():
    # Starlette asks for another HTTP client than the httpx that FastAPI's TestClient uses.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")

HERE = "tests/testing/test_eager_loads.py"


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = new_engine()
    yield engine
    engine.dispose()


def test_an_unused_selectinload_is_reported_at_the_query_with_the_fix(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()
        names = [hero.name for hero in heroes]
    assert names == ["Hero 0", "Hero 1", "Hero 2"]
    [finding] = unused_eager_loads(cap)
    assert finding == UnusedEagerLoad(
        "Hero.team",
        "selectinload",
        False,
        "SELECT team.id, team.name FROM team WHERE team.id IN (?, ?, ?)",
        HERE,
        finding.line,
        ("Hero#1", "Hero#2", "Hero#3"),
    )
    assert (
        finding.line
        == test_an_unused_selectinload_is_reported_at_the_query_with_the_fix.__code__.co_firstlineno + 2
    )
    with pytest.raises(SQLAssertionError) as failure:
        assert_no_unused_eager_loads(cap, info="the list shows names only")
    message = str(failure.value)
    assert message.startswith("the list shows names only\nunused eager loads: 1 relationship loaded up front")
    assert (
        f"{HERE}:{finding.line}: Hero.team was loaded by selectinload() for Hero#1, Hero#2, Hero#3, "
        "and nothing read it\n"
        "      SELECT team.id, team.name FROM team WHERE team.id IN (?, ?, ?)\n"
        "    fix: drop selectinload(Hero.team) from this select(Hero) (it sends a SELECT for nothing)"
    ) in message


def test_a_used_selectinload_is_not_reported(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()
        teams = [hero.team.name for hero in heroes if hero.team]
    assert teams == ["Team 0", "Team 1", "Team 2"]
    assert unused_eager_loads(cap) == []
    assert_no_unused_eager_loads(cap)


def test_reading_one_of_the_objects_is_a_use(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        first = session.exec(select(Hero).options(selectinload(Hero.team))).all()[0]
        assert first.team is not None
    assert unused_eager_loads(cap) == []


@pytest.mark.parametrize(
    ("option", "loader", "cost"),
    [(joinedload, "joinedload", "LEFT OUTER JOIN team"), (subqueryload, "subqueryload", "FROM (SELECT")],
)
def test_unused_joined_and_subquery_loads_are_reported(
    engine: Engine, option: object, loader: str, cost: str
) -> None:
    with Session(engine) as session, capture(session) as cap:
        session.exec(select(Hero).options(option(Hero.team))).all()  # type: ignore[operator]
    [finding] = unused_eager_loads(cap)
    assert (finding.relationship, finding.loader, finding.objects) == (
        "Hero.team",
        loader,
        ("Hero#1", "Hero#2", "Hero#3"),
    )
    assert cost in finding.statement
    with Session(engine) as session, capture(session) as cap:
        heroes = session.exec(select(Hero).options(option(Hero.team))).all()  # type: ignore[operator]
        [hero.team for hero in heroes]
    assert unused_eager_loads(cap) == []


def test_a_collection_loaded_up_front_and_read_is_not_reported(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        teams = session.exec(select(Team).options(selectinload(Team.heroes))).all()
        assert [len(team.heroes) for team in teams] == [1, 1, 1]
    assert unused_eager_loads(cap) == []
    with Session(engine) as session, capture(session) as cap:
        session.exec(select(Team).options(joinedload(Team.heroes))).unique().all()
    assert [(finding.relationship, finding.loader) for finding in unused_eager_loads(cap)] == [
        ("Team.heroes", "joinedload")
    ]


def test_lazy_loads_noload_and_contains_eager_are_no_eager_loads(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        session.exec(select(Hero)).all()
        session.exec(select(Hero).options(lazyload(Hero.team))).all()
        session.exec(select(Hero).join(Hero.team).options(contains_eager(Hero.team))).all()
    assert unused_eager_loads(cap) == []


def test_a_read_in_another_thread_is_a_use(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()
        names: list[str] = []
        worker = threading.Thread(target=lambda: names.extend(hero.team.name for hero in heroes if hero.team))
        worker.start()
        worker.join()
    assert names == ["Team 0", "Team 1", "Team 2"]
    assert unused_eager_loads(cap) == []


def test_a_response_model_and_model_dump_are_uses(engine: Engine) -> None:
    with Session(engine) as session, capture(session) as cap:
        heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()
        dumped = [HeroPublicWithTeam.model_validate(hero).model_dump() for hero in heroes]
    assert dumped[0] == {"id": 1, "name": "Hero 0", "team": {"id": 1, "name": "Team 0"}}
    assert unused_eager_loads(cap) == []


def test_a_template_is_a_use(engine: Engine) -> None:
    template = Environment(autoescape=True).from_string("{% for h in heroes %}{{ h.team.name }} {% endfor %}")
    with Session(engine) as session, capture(session) as cap:
        heroes = session.exec(select(Hero).options(joinedload(Hero.team))).all()
        page = template.render(heroes=heroes)
    assert page == "Team 0 Team 1 Team 2 "
    assert unused_eager_loads(cap) == []


def test_reads_after_the_block_do_not_count(engine: Engine) -> None:
    with Session(engine) as session:
        with capture(session) as cap:
            heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()
        assert [hero.team for hero in heroes]
    assert [finding.relationship for finding in unused_eager_loads(cap)] == ["Hero.team"]


@pytest.fixture
def eager_client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(make_eager_app(engine)) as client:
        yield client


def test_fastapi_response_models_and_templates_count_as_uses(eager_client: TestClient) -> None:
    with capture_requests(eager_client) as requests:
        assert eager_client.get("/with-teams/").json()[0]["team"] == {"id": 1, "name": "Team 0"}
        assert "Team 2" in eager_client.get("/page/").text
        assert eager_client.get("/names/").json()[0] == {"id": 1, "name": "Hero 0"}
    with_teams, page, names = requests
    assert unused_eager_loads(with_teams) == []  # read by the serialiser, in a worker thread
    assert unused_eager_loads(page) == []  # read by the template
    [finding] = unused_eager_loads(names)  # HeroPublic has no team: the SELECT was for nothing
    assert (finding.where, finding.relationship) == ("tests/testing/eager_api.py:35", "Hero.team")


# A relationship that loads up front by default: the fix is an option in the query.
class Base(DeclarativeBase):
    pass


class Squad(Base):
    __tablename__ = "squad"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Member(Base):
    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    squad_id: Mapped[int] = mapped_column(ForeignKey("squad.id"))
    squad: Mapped[Squad] = relationship(lazy="selectin")


def test_a_relationship_declared_lazy_selectin_is_reported_with_its_own_fix() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Member(name="Ada", squad=Squad(name="Analysts")))
        session.commit()
    with Session(engine) as session, capture(session) as cap:
        assert [member.name for member in session.scalars(select(Member))] == ["Ada"]
    [finding] = unused_eager_loads(cap)
    assert finding.default
    assert str(finding).endswith(
        "fix: Member.squad is declared lazy='selectin': add .options(lazyload(Member.squad)) to this "
        "query, or declare it lazy='select' if most queries do not read it"
    )
    with Session(engine) as session, capture(session) as cap:
        assert [member.squad.name for member in session.scalars(select(Member))] == ["Analysts"]
    assert unused_eager_loads(cap) == []
    engine.dispose()


def test_no_observer_effect_and_everything_is_restored(engine: Engine) -> None:
    attribute = Hero.__dict__["team"]
    with Session(engine) as session:
        plain = [hero.team_id for hero in session.exec(select(Hero).options(selectinload(Hero.team)))]
    with Session(engine) as session, capture(session) as outer, capture(engine) as inner:
        heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()
        assert type(attribute) is not InstrumentedAttribute  # reads are reported meanwhile
        assert Hero.team is attribute and isinstance(attribute, InstrumentedAttribute)
        assert [hero.team_id for hero in heroes] == plain
        statements = outer.statements
    assert type(attribute) is InstrumentedAttribute
    assert inner.statements == statements  # the capture itself sent nothing
    assert len(statements) == 2
    # The objects were not kept alive by the capture: the identity map forgets them.
    del heroes
    assert len(session.identity_map) == 0


def test_a_capture_in_another_thread_leaves_the_switch_to_the_last_one(engine: Engine) -> None:
    attribute = Hero.__dict__["team"]
    other_engine = new_engine()
    with Session(engine) as session, capture(session) as cap:
        heroes = session.exec(select(Hero).options(selectinload(Hero.team))).all()

        def other() -> None:
            with Session(other_engine) as other_session, capture(other_session):
                other_session.exec(select(Hero).options(joinedload(Hero.team))).all()

        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        assert type(attribute) is not InstrumentedAttribute  # the other capture ended, this one did not
        [hero.team for hero in heroes]
    assert unused_eager_loads(cap) == []  # the other engine's unused join is not this capture's
    assert type(attribute) is InstrumentedAttribute
    other_engine.dispose()


def test_a_join_on_an_engine_the_capture_does_not_watch_is_not_its(engine: Engine) -> None:
    other_engine = new_engine()
    with Session(engine) as session, Session(other_engine) as other, capture(session) as cap:
        session.exec(select(Hero)).all()
        other.exec(select(Hero).options(joinedload(Hero.team))).all()
    assert unused_eager_loads(cap) == []
    other_engine.dispose()


def test_async_sessions_eager_loads_are_reported_and_their_reads_seen(tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    async def main() -> tuple[list[UnusedEagerLoad], list[UnusedEagerLoad]]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'heroes.db'}")
        async with engine.begin() as connection:
            await connection.run_sync(HeroBase.metadata.create_all)
        async with AsyncSession(engine) as session:
            session.add_all([Hero(name=f"Hero {n}", team=Team(name=f"Team {n}")) for n in range(2)])
            await session.commit()
        reports = []
        for read in (False, True):
            async with AsyncSession(engine) as session:
                with capture(engine) as cap:
                    heroes = (await session.scalars(select(Hero).options(selectinload(Hero.team)))).all()
                    if read:
                        assert [hero.team.name for hero in heroes if hero.team] == ["Team 0", "Team 1"]
            reports.append(unused_eager_loads(cap))
        await engine.dispose()
        return reports[0], reports[1]

    unused, used = asyncio.run(main())
    assert [(finding.relationship, finding.objects) for finding in unused] == [
        ("Hero.team", ("Hero#1", "Hero#2"))
    ]
    assert used == []


def test_passing_on_a_capture_of_the_wrong_engine_warns(engine: Engine) -> None:
    other_engine = new_engine()
    with Session(engine) as session, capture(other_engine) as cap:
        session.exec(select(Hero).options(selectinload(Hero.team))).all()
    with pytest.warns(EmptyCaptureWarning, match="assert_no_unused_eager_loads"):
        assert_no_unused_eager_loads(cap)
    other_engine.dispose()
