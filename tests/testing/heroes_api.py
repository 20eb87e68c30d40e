"""A small FastAPI application written the way SQLModel's tutorial writes one, for the tests of
``capture_requests`` and the N+1 check: a session dependency that commits on teardown, a
background task, an async endpoint, a response model that reads a relationship, pagination and
a Jinja2 template.

The models use their own registry because other tests in this suite reset SQLModel's shared one.
(No ``from __future__ import annotations`` here: SQLModel and FastAPI read the annotations.)
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select
from sqlmodel.pool import StaticPool


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


class Audit(Base, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message: str


class HeroCreate(SQLModel):
    name: str


class TeamPublic(SQLModel):
    id: int
    name: str


class HeroPublic(SQLModel):
    id: int
    name: str


class HeroPublicWithTeam(HeroPublic):
    team: TeamPublic | None = None


def new_engine():
    """An in-memory database shared by the app's threads, with three heroes in three teams."""
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for number in range(3):
            session.add(Hero(name=f"Hero {number}", team=Team(name=f"Team {number}")))
        session.commit()
    return engine


TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def make_app(engine) -> FastAPI:
    """The application, on ``engine``."""

    def get_session() -> Iterator[Session]:
        # The unit-of-work style: the request's changes are committed once the endpoint returned.
        with Session(engine) as session:
            yield session
            session.commit()

    def write_audit(message: str) -> None:
        with Session(engine) as session:
            session.add(Audit(message=message))
            session.commit()
            for hero in session.exec(select(Hero)).all():
                hero.team  # noqa: B018 - an N+1 after the response was sent

    SessionDep = Annotated[Session, Depends(get_session)]
    app = FastAPI()

    @app.post("/heroes/", response_model=HeroPublic)
    def create_hero(hero: HeroCreate, session: SessionDep):
        db_hero = Hero.model_validate(hero)
        session.add(db_hero)
        session.flush()  # the id; the commit is the dependency's
        return db_hero

    @app.post("/audited/", response_model=HeroPublic)
    def create_audited(hero: HeroCreate, tasks: BackgroundTasks, session: SessionDep):
        db_hero = Hero.model_validate(hero)
        session.add(db_hero)
        session.flush()
        tasks.add_task(write_audit, f"created {hero.name}")
        return db_hero

    @app.get("/heroes/", response_model=list[HeroPublicWithTeam])
    def read_heroes(session: SessionDep, offset: int = 0, limit: int = 100):
        return session.exec(select(Hero).offset(offset).limit(limit)).all()

    @app.get("/heroes/{hero_id}", response_model=HeroPublicWithTeam)
    def read_hero(hero_id: int, session: SessionDep):
        return session.get(Hero, hero_id)

    @app.post("/refreshed/", response_model=list[HeroPublicWithTeam])
    def refreshed(session: SessionDep):
        heroes = [Hero(name="New 1", team_id=1), Hero(name="New 2", team_id=2)]
        session.add_all(heroes)
        session.commit()
        for hero in heroes:
            session.refresh(hero)
        return heroes

    @app.get("/async/heroes/", response_model=list[HeroPublic])
    async def read_heroes_async(session: SessionDep):
        return session.exec(select(Hero)).all()

    @app.get("/page/heroes/", response_class=HTMLResponse)
    def hero_page(request: Request, session: SessionDep):
        heroes = session.exec(select(Hero)).all()
        return TEMPLATES.TemplateResponse(request, "heroes.html", {"heroes": heroes})

    app.state.get_session = get_session
    return app
