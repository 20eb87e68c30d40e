"""A spare worker's first steps through SQLAlchemy and pydantic, before any program is known.

Importing a library is not all a fresh interpreter pays on its first run: SQLAlchemy imports
its loader strategies, unit of work and dialect execution paths on first use, builds its
statement compilers and caches, and pydantic-core builds its first validators. A lesson traced
in a fresh worker paid about ten milliseconds of that (a fifth of a small lesson's trace). A
worker started ahead of time (the pool's) has the time while it waits: :func:`warm_up` runs a
small ORM program of its own, then leaves nothing behind that a program could see.

Nothing is shared with the program: the models are declared on a registry and metadata of
their own (never ``SQLModel.metadata``: a SQLModel subclass would stay in
``SQLModel.__subclasses__()``), on an in-memory SQLite database, and everything is disposed and
collected before the worker says it is ready (a test checks that no class, registry or table of
the warm-up outlives it).
"""

from __future__ import annotations

import gc
import weakref

import pydantic
from sqlalchemy import ForeignKey, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

__all__ = ["warm_up"]


def warm_up() -> list[weakref.ref[object]]:
    """Run the warm-up program; returns weak references to what it made (all dead by then)."""
    made = _exercise()
    gc.collect()
    return made


def _exercise() -> list[weakref.ref[object]]:
    class Base(DeclarativeBase):  # a registry and metadata of its own
        pass

    class Team(Base):
        __tablename__ = "team"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str | None]
        heroes: Mapped[list[Hero]] = relationship(back_populates="team")

    class Hero(Base):
        __tablename__ = "hero"
        id: Mapped[int] = mapped_column(primary_key=True)
        age: Mapped[int]
        team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))
        team: Mapped[Team | None] = relationship(back_populates="heroes")

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        team = Team(name="warm")
        session.add_all([team, Hero(age=1, team=team)])
        session.commit()
        hero = session.execute(select(Hero).where(Hero.team_id == team.id)).scalars().one()
        hero.age = 2
        _ = hero.team, session.get(Team, team.id)
        session.commit()
        session.delete(hero)
        session.rollback()
    engine.dispose()
    Base.registry.dispose()

    class Model(pydantic.BaseModel):
        number: int = 0
        text: str | None = None

    Model(number=1).model_dump()
    return [weakref.ref(thing) for thing in (Team, Hero, Model, Base.registry, engine)]
