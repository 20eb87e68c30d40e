"""A relative-file SQLite URL created inside main(), expire_on_commit and autoflush at work."""

from sqlmodel import Field, Session, SQLModel, create_engine, select


class Note(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str


def add_and_count(session: Session, text: str) -> int:
    session.add(Note(text=text))
    return len(session.exec(select(Note)).all())


def main() -> None:
    engine = create_engine("sqlite:///notes.db", echo=True)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        print(add_and_count(session, "one"))
        print(add_and_count(session, "two"))
        session.commit()
        note = session.get(Note, 1)
        print(note.text)


if __name__ == "__main__":
    main()
