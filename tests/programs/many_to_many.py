"""Many-to-many through a link model with an extra field."""

from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Membership(SQLModel, table=True):
    team_id: int | None = Field(default=None, foreign_key="team.id", primary_key=True)
    hero_id: int | None = Field(default=None, foreign_key="hero.id", primary_key=True)
    is_training: bool = False
    team: "Team" = Relationship(back_populates="memberships")
    hero: "Hero" = Relationship(back_populates="memberships")


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    memberships: list[Membership] = Relationship(back_populates="team")


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    memberships: list[Membership] = Relationship(back_populates="hero")


engine = create_engine("sqlite://", echo=True)
SQLModel.metadata.create_all(engine)

with Session(engine) as session:
    a, b = Team(name="A"), Team(name="B")
    h = Hero(name="H")
    session.add_all([Membership(team=a, hero=h), Membership(team=b, hero=h, is_training=True)])
    session.commit()
    hero = session.exec(select(Hero)).one()
    print([(m.team.name, m.is_training) for m in hero.memberships])
