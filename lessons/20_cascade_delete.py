# %% [markdown]
# # Cascade delete: the ORM's way and the database's way
#
# When an author is deleted, what happens to their books, and to the reviews of those books? Two
# different mechanisms can delete them:
#
# - **the ORM** (`Relationship(cascade_delete=True)`): the session loads the children and sends a
#   DELETE for each of them itself. In SQLModel this sets SQLAlchemy's cascade
#   `"all, delete-orphan"`, so merely removing a book from `author.books` deletes it too;
# - **the database** (`Field(ondelete="CASCADE")` on the foreign key): the database removes the
#   child rows on its own. With `passive_deletes=True` on the relationship, the ORM leaves that job
#   to the database and does not even load the children.
#
# Here books are deleted by the ORM, reviews by the database. Predict which one goes wrong first.
# (The relationships only go one way, from parent to children: that is all a cascade needs.)
#
# The database is a file in a temporary folder, because two engines will open it.
#
# Shows: 3 CREATE, 3 INSERT
#
# Further reading: "Cascade Delete Relationships",
# https://sqlmodel.tiangolo.com/tutorial/relationship-attributes/cascade-delete-relationships/
# and SQLAlchemy, "Foreign Key Support" for SQLite,
# https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#foreign-key-support

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import event, insert
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(cascade_delete=True)


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int | None = Field(default=None, foreign_key="author.id", ondelete="CASCADE")
    reviews: list["Review"] = Relationship(cascade_delete=True, passive_deletes=True)


class Review(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str
    book_id: int | None = Field(default=None, foreign_key="book.id", ondelete="CASCADE")


folder = Path(tempfile.mkdtemp())
url = f"sqlite:///{folder / 'library.db'}"
engine = create_engine(url)
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Author).values([{"name": "Ada Quill"}, {"name": "Ben Okafor"}]))
    connection.execute(
        insert(Book).values(
            [
                {"title": "The Lantern Map", "author_id": 1},
                {"title": "A Quiet Orbit", "author_id": 1},
                {"title": "Tides of Ink", "author_id": 2},
            ]
        )
    )
    connection.execute(
        insert(Review).values(
            [
                {"text": "Loved the maps", "book_id": 1},
                {"text": "Too many maps", "book_id": 1},
                {"text": "Calm and deep", "book_id": 2},
                {"text": "Ink everywhere", "book_id": 3},
                {"text": "A splash", "book_id": 3},
            ]
        )
    )

# %% [markdown]
# Delete Ada, with `cascade_delete=True` on `Author.books` and `passive_deletes=True` on the
# reviews. Predict the SQL: what does the session load, and which DELETEs does it send, in which
# order?
#
# Expect: 2 SELECT, 2 DELETE (flush), 1 COMMIT

# %% Delete an author
with Session(engine) as session:
    ada = session.get(Author, 1)
    session.delete(ada)
    session.commit()

# %% [markdown] tags=["after", "sqlite-only"]
# Because of `cascade_delete=True` on `Author.books`, `session.delete(ada)` loads her books (a
# lazy load) so that it can delete them too. At the commit the flush sends one DELETE for the books
# (both rows in one go) and one for the author, children first.
#
# For the reviews, the ORM does nothing at all: `passive_deletes=True` says "the database will
# handle it". Look at the database panel: the books are gone, but their three reviews are still
# there, and point to books that do not exist. **Orphans.** The `ON DELETE CASCADE` in the table
# definition did nothing.

# %% [markdown] tags=["after", "postgresql-only"]
# Because of `cascade_delete=True` on `Author.books`, `session.delete(ada)` loads her books (a
# lazy load) so that it can delete them too. At the commit the flush sends one DELETE for the books
# (both rows in one go) and one for the author, children first.
#
# For the reviews, the ORM does nothing at all: `passive_deletes=True` says "the database will
# handle it", and PostgreSQL does. Look at the database panel: the books are gone, and so are their
# three reviews, deleted by the `ON DELETE CASCADE` in the table definition without any statement
# from us. (On SQLite, the default database of these lessons, they stay behind as orphans.)

# %% [markdown]
# This query finds the reviews whose book is missing.
#
# Expect: 1 SELECT (query)

# %% Look for orphans
with Session(engine) as session:
    orphans = session.exec(select(Review.text).where(Review.book_id.not_in(select(Book.id)))).all()
    print("orphan reviews:", orphans)

# %% [markdown] tags=["sqlite-only"]
# Why did the database not cascade? Ask SQLite whether it enforces foreign keys on a connection of
# our engine.
#
# Expect: 1 PRAGMA
# Expect: prints 'foreign_keys: 0'

# %% Ask SQLite tags=["sqlite-only"]
with engine.connect() as connection:
    print("foreign_keys:", connection.exec_driver_sql("PRAGMA foreign_keys").scalar())

# %% [markdown] tags=["after", "sqlite-only"]
# It does not.
#
# > **SQLite note:** SQLite checks foreign keys, and acts on `ON DELETE`, only when the connection
# > has switched it on with `PRAGMA foreign_keys = ON`. It is off by default, for every new
# > connection. PostgreSQL and MySQL (InnoDB) always enforce foreign keys.

# %% [markdown] tags=["sqlite-only"]
# The setting belongs to each connection, and an engine opens connections whenever it needs them.
# The reliable way is a `connect` event: a function that runs on every new connection of an
# engine. Here it is on a second engine for the same file, followed by the same check. Predict
# the PRAGMA statements you will see.
#
# Expect: 1 PRAGMA
# Expect: prints 'foreign_keys: 1'

# %% An engine that switches foreign keys on tags=["sqlite-only"]
strict_engine = create_engine(url)


@event.listens_for(strict_engine, "connect")
def _foreign_keys_on(dbapi_connection, _connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


with strict_engine.connect() as connection:
    print("foreign_keys:", connection.exec_driver_sql("PRAGMA foreign_keys").scalar())

# %% [markdown] tags=["after", "sqlite-only"]
# Only one: the PRAGMA in the listener goes straight to the driver, below SQLAlchemy, so it does
# not appear in the list of statements; the check afterwards does, and says 1 (on).

# %% [markdown] tags=["postgresql-only"]
# Why did the database cascade here? Ask PostgreSQL what it keeps for the foreign key from the
# reviews to the books.
#
# Expect: 1 SELECT
# Expect: prints 'on delete: CASCADE'

# %% Ask PostgreSQL tags=["postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    with engine.connect() as connection:
        rule = connection.exec_driver_sql(
            "SELECT delete_rule FROM information_schema.referential_constraints"
            " WHERE constraint_name = 'review_book_id_fkey'"
        )
        print("on delete:", rule.scalar())

# %% [markdown] tags=["after", "postgresql-only"]
# The rule lives with the table, and PostgreSQL enforces it on every connection: there is nothing
# to switch on.
#
# > **SQLite note:** SQLite checks foreign keys, and acts on `ON DELETE`, only when the connection
# > has switched it on with `PRAGMA foreign_keys = ON`, off by default for every new connection; a
# > lesson run on SQLite leaves Ada's reviews behind as orphans and needs a `connect` event here.

# %% [markdown] tags=["postgresql-only"]
# A second engine for the same database, as a program on SQLite needs one that switches foreign
# keys on. Here it needs nothing more.
#
# Expect: no SQL

# %% A second engine tags=["postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    strict_engine = create_engine(url)

# %% [markdown]
# Delete Ben through the strict engine. Predict the SQL, and what the database panel shows of his
# reviews afterwards.
#
# Expect: 2 SELECT, 2 DELETE (flush), 1 COMMIT

# %% Delete an author with foreign keys on tags=["exercise"] check="delete == 2; commit == 1; raises nothing; sql contains 'DELETE FROM author'" task="Delete Ben (author 2) and his books on strict_engine, where the database enforces foreign keys, and commit." hint="Deleting the author must also deal with the rows that point to her; the transcript shows which DELETEs the session sends."
with Session(strict_engine) as session:
    ben = session.get(Author, 2)
    session.delete(ben)
    session.commit()

# %% [markdown] tags=["after", "sqlite-only"]
# The SQL the ORM sends is the same as before: load the author, load the books, delete the books,
# delete the author. But this time the database panel shows his reviews gone as well: SQLite
# deleted them itself, without any statement from us.

# %% [markdown] tags=["after", "postgresql-only"]
# The SQL the ORM sends is the same as before: load the author, load the books, delete the books,
# delete the author. And the database panel shows his reviews gone as well, as Ada's went:
# PostgreSQL deleted them itself, without any statement from us.

# %% [markdown]
# Look for orphans again. How many are there now?
#
# Expect: 1 SELECT (query)
# Expect: rows review == 3

# %% Look for orphans again
with Session(strict_engine) as session:
    orphans = session.exec(select(Review.text).where(Review.book_id.not_in(select(Book.id)))).all()
    print("orphan reviews:", orphans)

# %% [markdown] tags=["after", "sqlite-only"]
# Only Ada's three orphans are left, from the time the foreign keys were off.

# %% [markdown] tags=["after", "postgresql-only"]
# None: on PostgreSQL the foreign keys were never off, so no review ever lost its book.

# %% [markdown]
# Which one to choose? The ORM cascade works everywhere but loads every child first: fine for a
# few books, slow for thousands. The database cascade costs the ORM nothing, as long as the
# database really enforces it. And without either (no cascade, no `passive_deletes`), deleting an
# author makes the ORM load **all** of her books, not only those already loaded, and set each
# one's `author_id` to NULL with an UPDATE, leaving books without an author.
#
# Tidy up: close the engines' connections and remove the temporary folder.
#
# Expect: no SQL

# %% Tidy up
engine.dispose()
strict_engine.dispose()
shutil.rmtree(folder)
