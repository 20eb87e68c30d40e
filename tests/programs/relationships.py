"""Relationships: lazy loads, selectinload, joinedload and cascade delete."""

from sqlalchemy.orm import joinedload, selectinload
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    heroes: list["Hero"] = Relationship(back_populates="team", cascade_delete=True)


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    team_id: int | None = Field(default=None, foreign_key="team.id", ondelete="CASCADE")
    team: Team | None = Relationship(back_populates="heroes")


engine = create_engine("sqlite://", echo=True)
SQLModel.metadata.create_all(engine)

with Session(engine) as session:
    for t in range(3):
        team = Team(name=f"team {t}")
        team.heroes = [Hero(name=f"hero {t}.{h}") for h in range(2)]
        session.add(team)
    session.commit()

with Session(engine) as session:
    for team in session.exec(select(Team)).all():
        print(team.name, len(team.heroes))

with Session(engine) as session:
    teams = session.exec(select(Team).options(selectinload(Team.heroes))).all()
    print(sum(len(t.heroes) for t in teams))

with Session(engine) as session:
    heroes = session.exec(select(Hero).options(joinedload(Hero.team))).all()
    print(sorted({h.team.name for h in heroes}))

with Session(engine) as session:
    team = session.get(Team, 1)
    session.delete(team)
    session.commit()
    print(len(session.exec(select(Hero)).all()))
