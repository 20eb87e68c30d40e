"""Plain SQLAlchemy 2.0 ORM (DeclarativeBase, sessionmaker, Session.begin, merge, scalars)."""

from sqlalchemy import ForeignKey, String, create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    books: Mapped[list["Book"]] = relationship(back_populates="author", lazy="selectin")


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books")


engine = create_engine("sqlite:///library.db", echo=True)
Base.metadata.create_all(engine)
make_session = sessionmaker(engine)

with make_session.begin() as session:
    session.add(Author(name="Ada", books=[Book(title="Notes"), Book(title="Letters")]))

with make_session() as session:
    ada = session.scalars(select(Author)).one()
    print(ada.name, sorted(book.title for book in ada.books))
    merged = session.merge(Book(id=1, title="Notes, revised", author_id=ada.id))
    session.expunge(ada)
    session.commit()
    print(merged.title)
    print(session.execute(text("SELECT count(*) FROM book")).scalar_one())

with engine.connect() as connection:
    connection.execute(text("UPDATE book SET title = upper(title)"))
    connection.commit()
    print(connection.execute(text("SELECT title FROM book ORDER BY id")).scalars().all())

Base.metadata.drop_all(engine)
