"""Inserts, flush, commit and refresh, as a plain script."""

from sqlmodel import Field, Session, SQLModel, create_engine


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    age: int | None = None


engine = create_engine("sqlite://", echo=True)
SQLModel.metadata.create_all(engine)

hero = Hero(name="Deadpond")
session = Session(engine)
session.add(hero)
print("before flush:", hero.id)
session.flush()
print("after flush:", hero.id)
session.commit()
session.refresh(hero)
print("after refresh:", hero.name)
hero.age = 30
session.add(hero)
session.commit()
print("age:", hero.age)
session.close()
