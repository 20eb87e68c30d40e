# %% [markdown]
# # Async sessions: await flush, refresh and commit
#
# Async web frameworks use `AsyncSession` (SQLModel's is in `sqlmodel.ext.asyncio.session`). It
# sends the same SQL as `Session`, and the objects go through the same states. What changes is
# *when you are allowed to need the database*: every method that may send SQL must be awaited, and
# plain attribute access cannot be awaited. So everything that loaded silently in lessons 4 and 18
# (an expired attribute, a lazy relationship) raises `MissingGreenlet` instead (a
# [greenlet](GLOSSARY.md#sqlmodel-and-sqlalchemy-settings) is what SQLAlchemy pauses while it
# waits for the database). This lesson walks
# through the common `await flush()` / `await refresh()` / `await commit()` sequence, provokes both
# errors, and shows the fixes.
#
# A lesson is a script, so each step runs its coroutine with `run(...)`, one event loop for the
# whole lesson; in an application, your framework runs them. The database is a file (the
# `sqlite+aiosqlite` driver) in a temporary folder, removed at the end. `created_at` is filled in
# by the database. In your code that is `server_default=func.now()` (SQL `CURRENT_TIMESTAMP`),
# which gives a different time on every run; so that this lesson shows the same times on every
# run, its database clock is a SQL function of our own, `library_now()`, that the engine installs
# on each connection and that says 09:00, 09:01, ... on 1 March 2025. Nothing else changes.
#
# Further reading: SQLAlchemy, "Asynchronous I/O (asyncio)",
# https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html

# %% Setup
import asyncio
import itertools
import shutil
import tempfile
import warnings
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, func, insert, inspect
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncAttrs, create_async_engine
from sqlalchemy.orm import selectinload
from sqlmodel import Field, Relationship, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

# A failed await leaves a coroutine behind that was never awaited; Python would warn at exit.
warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)


class Author(AsyncAttrs, SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(back_populates="author")


class Book(AsyncAttrs, SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    created_at: datetime | None = Field(default=None, sa_column_kwargs={"server_default": func.library_now()})
    author_id: int | None = Field(default=None, foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books")


folder = Path(tempfile.mkdtemp())
engine = create_async_engine(f"sqlite+aiosqlite:///{folder / 'library.db'}")
loop = asyncio.new_event_loop()
run = loop.run_until_complete

# %% [markdown] tags=["sqlite-only"]
# The database, with its clock installed on each new connection, the tables and an author.
#
# Shows: 2 CREATE, 1 INSERT

# %% The database and its clock tags=["sqlite-only"]
minutes = itertools.count()


@event.listens_for(engine.sync_engine, "connect")
def install_clock(dbapi_connection, _record):
    dbapi_connection.create_function("library_now", 0, lambda: f"2025-03-01 09:{next(minutes):02d}:00")


async def create_tables() -> None:
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
        await connection.execute(insert(Author).values(name="Ada Quill"))


run(create_tables())
session = AsyncSession(engine)

# %% [markdown] tags=["postgresql-only"]
# The database, the tables and an author. On PostgreSQL the clock is a function stored in the
# database itself, made once with `CREATE FUNCTION` before the tables that use it: each call takes
# the next number of a sequence, so the minutes go on across connections.
#
# Shows: 4 CREATE, 1 INSERT

# %% The database and its clock tags=["postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite

    async def create_tables() -> None:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE SEQUENCE library_minutes MINVALUE 0")
            await connection.exec_driver_sql(
                "CREATE FUNCTION library_now() RETURNS timestamp LANGUAGE sql AS"
                " $$ SELECT timestamp '2025-03-01 09:00' + nextval('library_minutes') * interval '1 minute' $$"
            )
            await connection.run_sync(SQLModel.metadata.create_all)
            await connection.execute(insert(Author).values(name="Ada Quill"))

    run(create_tables())
    session = AsyncSession(engine)

# %% [markdown]
# Add a book and `await session.flush()`. Predict the SQL, and whether `created_at`, which the
# database fills in, is known right after the flush.
#
# Expect: 1 INSERT (flush), 1 BEGIN
# Expect: loaded Book#1 created_at

# %% Add a book and flush
lantern = Book(title="The Lantern Map", author_id=1)
session.add(lantern)
run(session.flush())
print("id:", lantern.id, "| created_at:", lantern.created_at)
print("expired:", sorted(inspect(lantern).expired_attributes))

# %% [markdown] tags=["after"]
# One INSERT. Look at its end: `RETURNING id, created_at`. SQLAlchemy's default
# `eager_defaults="auto"` asks the database for server-generated values in the INSERT itself when
# the driver supports `RETURNING`, so `created_at` is loaded right after the flush (lesson 25
# looks closer).
#
# The `+00:00` at the end of the time is SQLModel's doing: it stores a `datetime` field in a
# timezone-aware column type, which hands back times in UTC. The other way round it is strict: a
# *naive* `datetime` (one without `tzinfo`) raises a `ValueError` at flush; write
# `datetime.now(timezone.utc)`.
#
# > **SQLite note:** SQLite (3.35+) and PostgreSQL support `RETURNING`; MySQL does not. There
# > `created_at` would be *expired* after the flush, and reading it in async code would raise the
# > error that "Read an expired attribute", below, provokes. That is why so many async examples
# > `await session.refresh(obj)` next.

# %% [markdown]
# `await session.refresh(lantern)` reads the row again. Predict the SQL.
#
# Expect: 1 SELECT (refresh)

# %% Refresh
run(session.refresh(lantern))
print("created_at:", lantern.created_at)

# %% [markdown] tags=["after"]
# One SELECT of every column. It is what you need when some value is expired or was changed by the
# database behind your back; here it only confirms what the flush already knew.

# %% [markdown]
# `await session.commit()`. Remember lesson 4: predict the SQL, and what the object panel shows of
# `lantern` afterwards.
#
# Expect: 1 COMMIT, 0 SELECT
# Expect: expired Book#1 id, title

# %% Commit
run(session.commit())
print("expired:", sorted(inspect(lantern).expired_attributes))

# %% [markdown] tags=["after"]
# The commit sends COMMIT, and expires every object in the session: the object panel shows
# `lantern` fully expired.

# %% [markdown]
# Now read `lantern.title` in an async function, as an endpoint would after its commit. With a
# plain `Session` this would send a SELECT (lesson 4). And with an `AsyncSession`?
#
# Expect: 0 SELECT
# Expect: raises StatementError

# %% Read an expired attribute tags=["raises-exception"]


async def title_after_commit() -> str:
    return lantern.title


try:
    run(title_after_commit())
except StatementError as error:
    print(f"{type(error.orig).__name__}: see https://sqlalche.me/e/21/{error.orig.code}")

# %% [markdown] tags=["after"]
# An `AsyncSession` cannot load here: loading would have to wait for the database, and a plain
# attribute access has no `await` to wait with. It raises `MissingGreenlet` (SQLAlchemy wraps it
# in a `StatementError` that shows the SELECT it wanted to send). The session begins a transaction
# for the load, but no SELECT goes out.

# %% [markdown]
# **Fix 1: load it with an await.** `await session.refresh(lantern)` reloads the row inside the
# coroutine, where waiting is allowed. **Fix 2: do not expire on commit.** An `AsyncSession(engine,
# expire_on_commit=False)` keeps the values after its commit, so reading them needs no database
# (with the stale-data price of lesson 4). Many async applications create their sessions that
# way.
#
# Expect: 1 SELECT (refresh), 1 INSERT (flush), 1 COMMIT

# %% Two fixes for expired attributes


async def fixes() -> None:
    await session.refresh(lantern)
    print("refreshed:", lantern.title, lantern.created_at)
    async with AsyncSession(engine, expire_on_commit=False) as keeper:
        orbit = Book(title="A Quiet Orbit", author_id=1)
        keeper.add(orbit)
        await keeper.commit()
        print("after commit:", orbit.title, orbit.created_at)


run(fixes())

# %% [markdown]
# The other trap is lazy loading (lesson 18). The columns of `lantern` are loaded now, but
# `lantern.author` was never loaded, and following it needs a SELECT. Predict the outcome.
#
# Expect: 0 SELECT
# Expect: raises StatementError

# %% Follow a lazy relationship tags=["raises-exception"]


async def author_of(book: Book) -> str:
    return book.author.name


try:
    run(author_of(lantern))
except StatementError as error:
    print(f"{type(error.orig).__name__}: see https://sqlalche.me/e/21/{error.orig.code}")

# %% [markdown] tags=["after"]
# The same `MissingGreenlet`, this time for `SELECT author...`. Again no SELECT goes out.

# %% [markdown]
# **Fix 3: refresh with attribute names.** `await session.refresh(lantern, ["author"])` loads only
# the attributes you name, relationships included. Predict the SQL.
#
# Expect: 1 SELECT (refresh), 1 SELECT (lazy load)

# %% Fix 3: refresh the relationship
run(session.refresh(lantern, ["author"]))
print("author:", lantern.author.name)

# %% [markdown] tags=["after"]
# Two SELECTs: the refresh reads the row's key (`SELECT book.id`), then loads the relationship with
# its usual loader (the author, cause "lazy load"), all inside the awaited call. Afterwards
# `lantern.author` is loaded and reading it is plain Python.

# %% [markdown]
# **Fix 4: load relationships eagerly**, in the query itself, with `selectinload(Author.books)`.
# Predict the SQL of the query, and of the loop over `author.books`.
#
# Expect: 1 SELECT (query), 1 SELECT (selectin load)

# %% Fix 4: selectinload tags=["exercise"] check="select <= 2; select >= 1; lazy_load == 0; raises nothing; sql contains 'FROM author'" task="Print every author's books in async code: load them with the authors, since an async session cannot lazy load." hint="In async code a lazy load cannot run on attribute access: load the relationship with the query, with selectinload."


async def authors_with_books() -> None:
    authors = (await session.exec(select(Author).options(selectinload(Author.books)))).all()
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])


run(authors_with_books())

# %% [markdown] tags=["after"]
# `selectinload(Author.books)` sends the SELECT of the authors and then one SELECT of their books,
# both inside `await session.exec(...)`. Then the loop over `author.books` sends nothing.

# %% [markdown]
# **Fix 5: await the attribute.** A class that mixes in `AsyncAttrs` (both of ours do) gets
# `obj.awaitable_attrs`: `await book.awaitable_attrs.author` runs the lazy load as an awaitable.
# Handy when you did not know in advance what you would need. Here in a new session, as in a new
# request. Predict the SQL.
#
# Expect: 1 SELECT (lazy load), 2 SELECT, 1 ROLLBACK

# %% Fix 5: awaitable_attrs


async def author_in_a_new_request() -> None:
    async with AsyncSession(engine) as other:
        book = await other.get(Book, 2)
        author = await book.awaitable_attrs.author
        print(book.title, "by", author.name)


run(author_in_a_new_request())

# %% [markdown] tags=["after"]
# `get` loads the book, the awaited attribute lazy-loads its author, and the `async with` block
# ends the session (the ROLLBACK).

# %% [markdown]
# Tidy up: close the session, dispose of the engine, close the event loop and remove the temporary
# folder. Does closing the session send anything?
#
# Expect: 0 statements, 1 ROLLBACK

# %% Tidy up
run(session.close())
run(engine.dispose())
loop.close()
shutil.rmtree(folder)

# %% [markdown] tags=["after"]
# A ROLLBACK, which ends the session's read-only transaction.
