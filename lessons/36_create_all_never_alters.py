# %% [markdown]
# # create_all never changes a table that exists
#
# You add a field to a model, run the program again, and the first INSERT fails: "table book has
# no column named year", in SQLite's words. `SQLModel.metadata.create_all` creates the tables that are
# **missing**; a table that exists is left exactly as it is, whatever the model says now. Changing
# an existing table is the job of a **migration**. This lesson makes the mismatch happen, reads
# the errors, and does by hand what a migration tool such as Alembic does for you.
#
# Further reading: SQLAlchemy, "Altering Database Objects through Migrations",
# https://docs.sqlalchemy.org/en/20/core/metadata.html#altering-database-objects-through-migrations
# and Alembic's tutorial, https://alembic.sqlalchemy.org/en/latest/tutorial.html

# %% Setup
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, Session, SQLModel, create_engine, select

engine = create_engine("sqlite://")


# Today's model has two more fields than last month's.
class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


# %% [markdown]
# Last month's program had a `Book` with an id and a title only. Its table, and one row, written
# as that program's `create_all` would have.
#
# Expect: 1 CREATE, 1 INSERT

# %% Last month's table tags=["sqlite-only"]
with engine.begin() as connection:
    connection.exec_driver_sql(
        "CREATE TABLE book (id INTEGER NOT NULL, title VARCHAR NOT NULL, PRIMARY KEY (id))"
    )
    connection.exec_driver_sql("INSERT INTO book (title) VALUES ('The Lantern Map')")

# %% Last month's table tags=["postgresql-only"]
# On PostgreSQL, create_all gives an integer primary key its numbers with SERIAL (a sequence).
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE book (id SERIAL NOT NULL, title VARCHAR NOT NULL, PRIMARY KEY (id))"
        )
        connection.exec_driver_sql("INSERT INTO book (title) VALUES ('The Lantern Map')")


# %% [markdown]
# Today's program starts with `create_all`, as every tutorial does. Predict the SQL: does it
# notice the two new fields? (The second line lists the table's columns with SQLAlchemy's
# `inspect(engine)`, which asks the database with a query of its own.)
#
# Expect: 2 statements, 0 CREATE

# %% create_all on an existing table
SQLModel.metadata.create_all(engine)
print("columns in the database:", [column["name"] for column in inspect(engine).get_columns("book")])

# %% [markdown] tags=["after"]
# `create_all` sent one question, which found the table (on SQLite `PRAGMA table_info("book")`,
# on PostgreSQL a query of `pg_catalog.pg_class`), and nothing else: no CREATE, and no ALTER
# either (the second statement is the column listing). `create_all` only asks "does this table
# exist?", never "does it match the model?".
# The database still has `id` and `title` only.

# %% [markdown]
# Add a book with today's model and commit. Predict the INSERT, and the database's answer.
#
# Expect: 1 INSERT (flush), 1 ROLLBACK

# %% Insert with the new model tags=["raises-exception"]
session = Session(engine)
session.add(Book(title="A Quiet Orbit", year=2016, copies=2))
try:
    session.commit()
except DBAPIError as error:
    print(f"{type(error).__name__}:", error.orig)
    session.rollback()

# %% [markdown] tags=["after", "sqlite-only"]
# The INSERT names every column of the model, `year` and `copies` included, and SQLite refuses:
# "table book has no column named year". Python's model and the database's table disagree, and
# only the database's version counts.

# %% [markdown] tags=["after", "postgresql-only"]
# The INSERT names every column of the model, `year` and `copies` included, and PostgreSQL
# refuses: `column "year" of relation "book" does not exist` (a `ProgrammingError`, where SQLite
# raises an `OperationalError`; both are `DBAPIError`s). Python's model and the database's table
# disagree, and only the database's version counts.

# %% [markdown]
# Reading fails too. Predict the error of a plain `select(Book)`.
#
# Expect: 1 SELECT (query)

# %% Read with the new model tags=["raises-exception"]
try:
    session.exec(select(Book)).all()
except DBAPIError as error:
    print(f"{type(error).__name__}:", error.orig)

# %% [markdown] tags=["after", "postgresql-only"]
# `column book.year does not exist`: the SELECT lists every column the model knows. An old table
# breaks reads as well as writes, as soon as the model has a column the table lacks.

# %% [markdown] tags=["after", "sqlite-only"]
# "no such column: book.year": the SELECT lists every column the model knows. An old table breaks
# reads as well as writes, as soon as the model has a column the table lacks.

# %% [markdown]
# A **migration** changes the existing table to match the model. Here we write it by hand, two
# `ALTER TABLE ... ADD COLUMN` statements; note the `DEFAULT 1`, which gives the existing row a
# value for the NOT NULL `copies`. Predict the columns afterwards.
#
# Expect: 3 statements, 1 COMMIT

# %% Migrate by hand
session.rollback()
with engine.begin() as connection:
    connection.exec_driver_sql("ALTER TABLE book ADD COLUMN year INTEGER")
    connection.exec_driver_sql("ALTER TABLE book ADD COLUMN copies INTEGER NOT NULL DEFAULT 1")
print("columns in the database:", [column["name"] for column in inspect(engine).get_columns("book")])

# %% [markdown] tags=["after"]
# The two ALTER TABLE statements, committed, then the query of the column listing:
# `id, title, year, copies`. The table matches the model again, and the old row kept its title,
# with `year` NULL and `copies` 1 (see the database panel). Alembic writes such statements for
# you: `alembic revision --autogenerate` compares the models with the database and writes a
# migration script, `alembic upgrade head` runs it, and a table in the database records which
# migrations have run.
#
# > **SQLite note:** SQLite's `ALTER TABLE` can add, rename and drop columns, but cannot change a
# > column's type or constraints. Alembic's "batch" mode works around that by copying the table
# > into a new one. PostgreSQL and MySQL alter columns in place.

# %% [markdown]
# Your turn: the same INSERT as before, now that the table has been migrated. Predict the SQL.
#
# Expect: 1 INSERT (flush), 1 COMMIT

# %% Insert again tags=["exercise"] check="insert == 1; commit == 1; raises nothing" task="Add A Quiet Orbit with its year and copies again, now that the table is migrated, and commit." hint="After the migration the table has every column the model names, so the same add and commit now work."
session.add(Book(title="A Quiet Orbit", year=2016, copies=2))
session.commit()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% [markdown] tags=["after"]
# The INSERT goes through, and both books are listed. In a real project, run the migrations
# before the program starts (or in its deployment step), and keep `create_all` for tests and
# throwaway databases.
