# %% [markdown]
# # A back-reference does not add an object to the session
#
# Older tutorials (SQLAlchemy 1.x) often did this: load an author, create a book, set
# `book.author = author`, commit, and the book was saved, because linking it to an object *in*
# the session pulled it in along the back-reference. SQLAlchemy 2.0 removed that ("cascade
# backrefs"). Now the book stays out of the session, and the commit only warns "... add operation
# along 'Author.books' will not proceed": the book is **not saved**, and no error says so. This
# lesson shows the trap, the warning, and the rule that replaces it: `add` follows relationships
# *from the object you add*.
#
# Expect: 2 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy 2.0 migration guide, "cascade_backrefs behavior deprecated for
# removal in 2.0",
# https://docs.sqlalchemy.org/en/20/changelog/migration_14.html#change-5150

# %% Setup
import warnings

from sqlalchemy import inspect
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(back_populates="author")


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int | None = Field(default=None, foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books")


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
ada = Author(name="Ada Quill")
session.add(ada)
session.commit()

# %% [markdown]
# Ada is persistent. We list her books (none yet), then create a book and link it to her with
# `orbit.author = ada`, without adding the book. Predict the book's state, and whether it is in
# `ada.books`.
#
# Expect: 0 INSERT
# Expect: state Book#1 transient
# Expect: prints 'in ada.books? True'

# %% Link a new book to Ada
print("Ada's books:", [book.title for book in ada.books])
orbit = Book(title="A Quiet Orbit")
orbit.author = ada
print("in ada.books?", orbit in ada.books)
print("transient?", inspect(orbit).transient, "| in the session?", orbit in session)

# %% [markdown] tags=["after"]
# The back-reference did its in-memory job: `orbit` is in `ada.books`. But `orbit` is still
# **transient**, outside the session. (The two SELECTs load Ada, expired by the commit, and her
# `books` collection, for the first print.)

# %% [markdown]
# Commit. Predict the INSERTs. We catch SQLAlchemy's warning with `warnings.catch_warnings` to
# print it.
#
# Expect: 0 INSERT, 1 COMMIT

# %% Commit without add
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    session.commit()
print("warning:", *[str(warning.message) for warning in caught])
print("transient?", inspect(orbit).transient)

# %% [markdown] tags=["after"]
# No INSERT. At the flush the session walked Ada's `books`, found an object it does not hold, and
# skipped it with a warning: "Object of type <Book> not in session, add operation along
# 'Author.books' will not proceed". The book is still transient and is not in the database (see
# the database panel). A warning in a log is easy to miss; a missing row is found much later.

# %% [markdown]
# The fix is one line: `session.add(orbit)`. Predict the SQL of the commit, and the book's
# `author_id`.
#
# Expect: 1 INSERT (flush), 1 COMMIT

# %% Add the book, then commit
session.add(orbit)
session.commit()
print("author_id:", orbit.author_id)

# %% [markdown] tags=["after"]
# One INSERT, with Ada's id in `author_id`: the relationship was right all along; only the book
# was missing from the session.

# %% [markdown]
# The rule that is left: `session.add(x)` adds `x` **and** everything reachable from `x` through
# its relationships (the "save-update" cascade). Add a new author whose `books` list holds a new
# book, and predict how many objects are pending.
#
# Expect: no SQL
# Expect: prints 'pending: 2'

# %% add follows relationships from the object you add
cora = Author(name="Cora Lind", books=[Book(title="Paper Moons")])
session.add(cora)
print("pending:", len(session.new))

# %% [markdown] tags=["after"]
# Two: Cora, and the book reached through `Cora.books`. The cascade runs from the object you
# `add`, along its relationships, at that moment. What 2.0 removed is only the cascade set off by
# a back-reference *event*, like `orbit.author = ada` above. (Lesson 17 shows the same trap from
# the other side, with a new author appended to.)

# %% [markdown]
# Your turn: save a new book "Tides of Ink" by Ada, and commit Cora's book with it. Keep the
# `book.author = ada` line, and make the book reach the database.
#
# Expect: 3 INSERT (flush), 1 COMMIT

# %% Save Tides of Ink tags=["exercise"] check="insert == 3; commit == 1; raises nothing" task="Save a new book Tides of Ink by Ada, keeping the line tides.author = ada, so that it reaches the database with Cora's book." hint="Setting book.author does not put the book in the session; session.add(book) does."
tides = Book(title="Tides of Ink")
tides.author = ada
session.add(tides)
session.commit()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% [markdown] tags=["after"]
# Cora, her book and Ada's new book, in one flush, the author first so that her book has her id.
#
# > **SQLite note:** the two books are two INSERTs here, one row per batch (lesson 30); on
# > PostgreSQL they share one INSERT statement.
