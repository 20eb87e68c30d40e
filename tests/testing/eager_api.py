"""Endpoints of the ``heroes_api`` application that load ``Hero.team`` up front, for the tests
of the unused-eager-load report: one whose response model reads it, one whose response model
does not, and a page whose template reads it.

(No ``from __future__ import annotations`` here: FastAPI reads the annotations.)
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import joinedload, selectinload
from sqlmodel import Session, select

from tests.testing.heroes_api import TEMPLATES, Hero, HeroPublic, HeroPublicWithTeam


def make_eager_app(engine) -> FastAPI:
    """The application, on ``engine``."""

    def get_session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    SessionDep = Annotated[Session, Depends(get_session)]
    app = FastAPI()

    @app.get("/with-teams/", response_model=list[HeroPublicWithTeam])
    def heroes_with_teams(session: SessionDep):
        return session.exec(select(Hero).options(selectinload(Hero.team))).all()

    @app.get("/names/", response_model=list[HeroPublic])
    def hero_names(session: SessionDep):
        return session.exec(select(Hero).options(selectinload(Hero.team))).all()

    @app.get("/page/", response_class=HTMLResponse)
    def hero_page(request: Request, session: SessionDep):
        heroes = session.exec(select(Hero).options(joinedload(Hero.team))).all()
        return TEMPLATES.TemplateResponse(request, "heroes.html", {"heroes": heroes})

    return app
