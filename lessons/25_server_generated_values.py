# %% [markdown]
# # Server-generated values: created_at, server_default and onupdate
#
# Some values are computed by the database, not by Python: a `created_at` filled in by the
# database's clock, a column with a `DEFAULT`, an `updated_at` that every UPDATE sets. Your object
# cannot know them until the database tells it. This lesson shows when they read as `None`, when
# they are *expired* after a flush, when SQLAlchemy fetches them for you (`eager_defaults`), and
# what `refresh` fetches.
#
# Both are SQLAlchemy column settings, which SQLModel passes on from
# `Field(sa_column_kwargs={...})` ([glossary](GLOSSARY.md#sqlmodel-and-sqlalchemy-settings)).
# `server_default=...` goes into `CREATE TABLE` as `DEFAULT ...`. `onupdate=...` does not:
# SQLAlchemy adds it to each UPDATE it sends for the table, unless that UPDATE sets the column
# itself; and a flush that finds nothing changed sends no UPDATE, so it does not touch the
# column either. In your code the clock would be `func.now()` (SQL `CURRENT_TIMESTAMP`), which gives a different time on every run; so that this
# lesson shows the same times on every run, its database clock is a SQL function of our own,
# `library_now()`, installed on each connection, that says 09:00, 09:01, ... on 1 March 2025.
#
# Further reading: SQLAlchemy, "Fetching Server-Generated Defaults",
# https://docs.sqlalchemy.org/en/20/orm/persistence_techniques.html#orm-server-defaults

# %% Setup
import itertools
from datetime import datetime

from sqlalchemy import event, func, inspect
from sqlmodel import Field, Session, SQLModel, create_engine

CLOCK = {"server_default": func.library_now()}
CLOCK_ON_UPDATE = {"server_default": func.library_now(), "onupdate": func.library_now()}


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    shelf: str | None = Field(default=None, sa_column_kwargs={"server_default": "new arrivals"})
    created_at: datetime | None = Field(default=None, sa_column_kwargs=CLOCK)
    updated_at: datetime | None = Field(default=None, sa_column_kwargs=CLOCK_ON_UPDATE)


class Review(SQLModel, table=True):
    __mapper_args__ = {"eager_defaults": False}
    id: int | None = Field(default=None, primary_key=True)
    text: str
    created_at: datetime | None = Field(default=None, sa_column_kwargs=CLOCK)


class Member(SQLModel, table=True):
    __mapper_args__ = {"eager_defaults": True}
    id: int | None = Field(default=None, primary_key=True)
    name: str
    updated_at: datetime | None = Field(default=None, sa_column_kwargs=CLOCK_ON_UPDATE)


engine = create_engine("sqlite://")

# %% [markdown] tags=["sqlite-only"]
# The database, with its clock installed on each new connection, and the tables.
#
# Shows: 3 CREATE

# %% The database and its clock tags=["sqlite-only"]
minutes = itertools.count()


@event.listens_for(engine, "connect")
def install_clock(dbapi_connection, _record):
    dbapi_connection.create_function("library_now", 0, lambda: f"2025-03-01 09:{next(minutes):02d}:00")


SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown] tags=["postgresql-only"]
# The database, and the tables. On PostgreSQL the clock is a function stored in the database
# itself, made once with `CREATE FUNCTION` before the tables that use it: each call takes the
# next number of a sequence, so the minutes go on across connections.
#
# Shows: 5 CREATE

# %% The database and its clock tags=["postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SEQUENCE library_minutes MINVALUE 0")
        connection.exec_driver_sql(
            "CREATE FUNCTION library_now() RETURNS timestamp LANGUAGE sql AS"
            " $$ SELECT timestamp '2025-03-01 09:00' + nextval('library_minutes') * interval '1 minute' $$"
        )
    SQLModel.metadata.create_all(engine)
    session = Session(engine)

# %% [markdown]
# A new book, not yet flushed. Predict `created_at`.
#
# Expect: no SQL

# %% A new book
lantern = Book(title="The Lantern Map")
session.add(lantern)
print("shelf:", lantern.shelf, "| created_at:", lantern.created_at)

# %% [markdown] tags=["after"]
# `None`. The database has not been asked yet, and `None` is only the Python-side default of the
# field. (Passing `created_at=None` explicitly would change nothing: for a column with a default,
# SQLAlchemy leaves a `None` out of the INSERT, so that the database's default applies.)

# %% [markdown]
# Flush, then read the server-generated values. Predict the SQL: does reading them need a SELECT?
#
# Expect: 1 INSERT (flush), 0 SELECT

# %% Flush tags=["exercise"] check="insert == 1; flush == 1; select == 0; value Book#1.shelf == 'new arrivals'" task="Send lantern's INSERT and print the values the database generated for it, without another SELECT." hint="The server fills in the defaults during the INSERT; the output shows the values the book holds afterwards."
session.flush()
print("shelf:", lantern.shelf, "| created_at:", lantern.created_at, "| updated_at:", lantern.updated_at)

# %% [markdown] tags=["after"]
# Look at the end of the INSERT: `RETURNING id, shelf, created_at, updated_at`. With the default
# `eager_defaults="auto"`, SQLAlchemy asks for every server-generated column in the INSERT itself
# when the database supports `RETURNING`, so the object is complete after the flush and reading
# the values sends nothing. (Our clock moves on at every call, so `created_at` and `updated_at`
# differ by a minute; a real `now()` gives both the same time.)
#
# The `+00:00` at the end of the time is SQLModel's doing: it stores a `datetime` field in a
# timezone-aware column type, which hands back times in UTC. The other way round it is strict: a
# *naive* `datetime` (one without `tzinfo`) raises a `ValueError` at flush; write
# `datetime.now(timezone.utc)`.
#
# > **SQLite note:** SQLite (3.35+) and PostgreSQL support `INSERT ... RETURNING`; MySQL does
# > not. There the INSERT returns only the new id (from the driver), and these columns are
# > *expired* after the flush, as the review shows two steps below.

# %% [markdown]
# Change the title and flush, then read `updated_at`. Predict the SQL: what does the UPDATE set,
# and does reading `updated_at` cost anything?
#
# Expect: 1 UPDATE (flush), 1 SELECT (load expired)

# %% Update the book
lantern.title = "The Lantern Map (2nd ed.)"
session.flush()
print("expired after the UPDATE:", sorted(inspect(lantern).expired_attributes))
print("updated_at:", lantern.updated_at)

# %% [markdown] tags=["after"]
# The UPDATE sets `updated_at=library_now()` too: that is `onupdate`. But "auto" fetches server
# values for INSERTs only, so after this UPDATE `updated_at` is **expired**, as the first print
# shows, and reading it sends a SELECT of that one column. (The object panel is drawn at the end
# of the step, after that read, so it already shows the new value.)

# %% [markdown]
# `Review` turns eager defaults off (`__mapper_args__ = {"eager_defaults": False}`, settings for
# SQLAlchemy's mapper: see the [glossary](GLOSSARY.md#sqlmodel-and-sqlalchemy-settings)), which is also
# what every class gets on a database without `RETURNING`. Predict the SQL of adding and flushing
# a review, then reading its `created_at`.
#
# Expect: 1 INSERT (flush), 1 SELECT (load expired)

# %% Eager defaults off
review = Review(text="A map that glows")
session.add(review)
session.flush()
print("expired after the INSERT:", sorted(inspect(review).expired_attributes))
print("created_at:", review.created_at)

# %% [markdown] tags=["after"]
# The INSERT asks for no server-generated value back (on PostgreSQL its `RETURNING` holds only the
# new id), `created_at` is expired after the flush, and the first read loads it with a SELECT. In async code that read would raise `MissingGreenlet` instead, as
# lesson 26, next, will show.

# %% [markdown]
# `Member` asks for eager defaults always (`"eager_defaults": True`). Predict the SQL of an INSERT
# and an UPDATE, and what is left expired afterwards.
#
# Expect: 1 INSERT (flush), 1 UPDATE (flush), 0 SELECT
# Expect: loaded Member#1 updated_at

# %% Eager defaults on
ada = Member(name="Ada")
session.add(ada)
session.flush()
ada.name = "Ada Quill"
session.flush()
print("updated_at:", ada.updated_at, "| expired:", sorted(inspect(ada).expired_attributes))

# %% [markdown] tags=["after"]
# The UPDATE, too, ends in `RETURNING member.updated_at`, and nothing is left expired.

# %% [markdown]
# What does `refresh` fetch? Predict its SQL, then the commit's.
#
# Expect: 1 SELECT (refresh), 1 COMMIT
# Expect: prints 'title: The Lantern Map (2nd ed.) | updated_at: 2025-03-01 09:02:00+00:00'

# %% Refresh, then commit
session.refresh(lantern)
print("title:", lantern.title, "| updated_at:", lantern.updated_at)
session.commit()
session.close()

# %% [markdown] tags=["after"]
# Every column of the row, in one SELECT, whatever was loaded before, and it discards unflushed
# changes (lesson 3). Here nothing changed since the flush, so the values come back the same. The
# commit expires everything again (lesson 4).
