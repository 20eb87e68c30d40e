"""A program that fails midway: an IntegrityError after some work."""

from sqlmodel import Field, Session, SQLModel, create_engine


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)


engine = create_engine("sqlite://", echo=True)
SQLModel.metadata.create_all(engine)
with Session(engine) as session:
    session.add(User(email="a@example.com"))
    session.commit()
    print("first user saved")
    session.add(User(email="a@example.com"))
    session.commit()
    print("never printed")
