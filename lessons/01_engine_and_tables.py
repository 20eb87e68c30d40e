# %% [markdown]
# # The engine, echo and your first table
#
# Welcome to the library! In these lessons we keep a small catalogue of books with SQLModel, and
# we watch every piece of SQL that it sends to the database.
#
# A SQLModel class with `table=True` describes one table: each annotated attribute becomes a
# column. What does defining such a class send to the database?
#
# Expect: no SQL
#
# Further reading: "Create a Table with SQLModel - Use the Engine",
# https://sqlmodel.tiangolo.com/tutorial/create-db-and-table/

# %% Describe a book
from sqlmodel import Field, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


# %% [markdown] tags=["after"]
# Nothing: defining the class only builds a description in Python memory. Nothing talks to a
# database yet.

# %% [markdown]
# The **engine** is the object that knows how to reach the database. `sqlite://` (nothing after
# the slashes) means a SQLite database that lives in memory and disappears when the program ends:
# perfect for experiments.
#
# > **SQLite note:** an in-memory database belongs to the connection that opened it. SQLAlchemy
# > keeps one connection per thread for `sqlite://`, so everything in one thread sees the same
# > database, and another thread would get a new, empty one (more on that later, in lesson 23).
#
# `echo=True` makes SQLAlchemy log every statement it sends. Run this file with plain
# `python` and you will see that log in your terminal; sqlecho shows the same statements, step by
# step, with the reason each one was sent.
#
# Does creating the engine send anything?
#
# Expect: no SQL

# %% Create the engine
engine = create_engine("sqlite://", echo=True)

# %% [markdown] tags=["after"]
# No: creating an engine does not even open a connection. It connects the first time it is
# needed.

# %% [markdown]
# `SQLModel.metadata` collects every table class defined so far. `create_all` creates the ones
# that are missing. Predict what it sends before you step.
#
# Expect: 2 PRAGMA, 1 CREATE, 1 BEGIN, 1 COMMIT

# %% Create the tables
SQLModel.metadata.create_all(engine)

# %% [markdown] tags=["after"]
# Look at the order of what happened:
#
# 1. `BEGIN (implicit)`: SQLAlchemy opened a [transaction](GLOSSARY.md#the-database-side), a
#    group of statements kept or undone together. "Implicit" means it did not send a
#    `BEGIN` statement itself; it simply considers everything from now on one unit of work.
# 2. Two `PRAGMA ... table_info("book")` statements: SQLAlchemy *asks SQLite whether the table
#    exists*, first in the main database, then among the temporary tables. Both answers were
#    empty, which means "no such table". (A [`PRAGMA`](GLOSSARY.md#the-database-side) is SQLite's own command for settings and
#    facts about the database; PostgreSQL and MySQL are asked through their catalog tables
#    instead, so there you would see a SELECT here.)
# 3. `CREATE TABLE book (...)`: the column types come from the Python annotations. `title: str`
#    became `VARCHAR NOT NULL`; `year: int | None` may be NULL; `copies` is NOT NULL because its
#    type is a plain `int`.
# 4. `COMMIT`: the end of the transaction.
#
# (On PostgreSQL three statements come before all this, `select pg_catalog.version()` and two
# more: the engine connects for the first time and asks the server about itself.)
#
# > **SQLite note:** with SQLite, this `BEGIN (implicit)` ... `COMMIT` pair is nominal. Python's
# > `sqlite3` driver, in its "legacy" transaction control (the default today), sends no real
# > `BEGIN` before [DDL](GLOSSARY.md#the-database-side) such as `CREATE TABLE` (it starts a transaction only before INSERT, UPDATE
# > or DELETE), so each statement here takes effect on its own. With `autocommit=False` (Python
# > 3.12+) the driver opens a real transaction instead, and the SQLAlchemy docs expect that to
# > become the default in a future Python. On PostgreSQL the same `create_all` really runs in one
# > transaction. Lesson 16 will show where this driver behaviour becomes a trap.

# %% [markdown]
# So what happens if we call `create_all` a second time?
#
# Expect: 1 PRAGMA, 0 CREATE

# %% Create the tables again
SQLModel.metadata.create_all(engine)

# %% [markdown] tags=["after"]
# A single check this time: the main database already has `book`, so there is no need to look
# among the temporary tables, and nothing to create. This is why
# calling `create_all` at every start of an application is safe. It never changes a table that
# already exists, though: adding a column to the class later does not add it to the table.

# %% [markdown]
# Now we add a second class and run `create_all` once more. Which tables get checked, and which
# get created?
#
# Expect: 3 PRAGMA, 1 CREATE


# %% Add a table later
class Reader(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


SQLModel.metadata.create_all(engine)

# %% [markdown] tags=["after"]
# Both tables were checked (on SQLite `book` once, `reader` twice, since it was found nowhere;
# PostgreSQL answers for both with one SELECT), and only `reader` was created.

# %% [markdown] tags=["sqlite-only"]
# You can also ask SQLite directly which tables it has, with plain SQL. `engine.connect()` gives a
# connection. We only read, so we never call `commit`: does a transaction begin, and how does it
# end when the `with` block closes?
#
# Expect: 1 SELECT, 1 BEGIN, 1 ROLLBACK

# %% Ask SQLite for its tables tags=["sqlite-only"]
with engine.connect() as connection:
    names = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    print("tables:", names.scalars().all())

# %% [markdown] tags=["postgresql-only"]
# You can also ask PostgreSQL directly which tables it has, with plain SQL: its catalog view
# `pg_tables` lists them (SQLite keeps the same list in its table `sqlite_master`).
# `engine.connect()` gives a connection. We only read, so we never call `commit`: does a
# transaction begin, and how does it end when the `with` block closes?
#
# Expect: 1 SELECT, 1 BEGIN, 1 ROLLBACK

# %% Ask PostgreSQL for its tables tags=["postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    with engine.connect() as connection:
        names = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        print("tables:", names.scalars().all())

# %% [markdown] tags=["after"]
# The connection opened a transaction on first use, just like `create_all` did. Leaving the
# `with` block without a commit rolled it back, which changes nothing: we only read.

# %% [markdown]
# One last look: the table description lives on the class. Does Python need the database to
# list the columns?
#
# Expect: no SQL

# %% Read the columns from Python
print("columns of book:", list(Book.__table__.columns.keys()))
print("columns of reader:", list(Reader.__table__.columns.keys()))

# %% [markdown] tags=["after"]
# No: Python reads the columns from the class, without asking the database at all.
