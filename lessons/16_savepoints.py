# %% [markdown]
# # Savepoints with begin_nested
#
# A **savepoint** is a bookmark inside a transaction: you can roll back to it, undoing only what
# came after it, and keep the rest of the transaction. `session.begin_nested()` sets one.
#
# This lesson also meets a real trap of SQLite's Python driver: used as the very first thing in
# a transaction, a savepoint is committed for good when it is released. We will see it happen,
# then apply the fix from the SQLAlchemy documentation.
#
# The database is a file this time, in a fresh temporary folder (two engines will open it).
#
# Shows: 1 CREATE
#
# Further reading: SQLAlchemy, "Using SAVEPOINT",
# https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#using-savepoint and
# "Transactions with SQLite and the sqlite3 driver",
# https://docs.sqlalchemy.org/en/20/dialects/sqlite.html

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


folder = Path(tempfile.mkdtemp())
url = f"sqlite:///{folder / 'library.db'}"
engine = create_engine(url)
SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown]
# Some ordinary work first: one book, flushed. The transaction is open; nothing is committed.
#
# Expect: 1 INSERT (flush), 1 BEGIN

# %% Outer work
session.add(Book(title="The Lantern Map", year=2019))
session.flush()

# %% [markdown]
# `begin_nested()` starts a nested transaction. We add a second book, flush, then roll back the
# nested transaction only. Predict the SQL, in order, and the state of the second book afterwards.
#
# Expect: 1 SAVEPOINT, 1 INSERT (flush), 1 ROLLBACK TO, 0 ROLLBACK
# Expect: state Book#2 transient

# %% A nested transaction, rolled back tags=["exercise"] check="sql == 3; insert == 1; commit == 0; rollback == 0; sql contains 'ROLLBACK TO SAVEPOINT'; state Book#2 transient" task="Add orbit inside a savepoint, send its INSERT, then undo the savepoint only: the outer transaction goes on." hint="begin_nested() sends SAVEPOINT, and rolling it back sends ROLLBACK TO SAVEPOINT: statements, not a ROLLBACK of the whole transaction."
nested = session.begin_nested()
orbit = Book(title="A Quiet Orbit", year=2016)
session.add(orbit)
session.flush()
nested.rollback()

# %% [markdown] tags=["after"]
# Before anything else `begin_nested()` **flushes** whatever is pending, so that changes made
# before the savepoint cannot be undone with it (here the outer work was already flushed, so there
# was nothing to send). The `SAVEPOINT sa_savepoint_1` statement goes out the next time the
# session uses its connection: here, at the flush, just before the INSERT of the second book.
# Rolling back the nested transaction sends `ROLLBACK TO SAVEPOINT`, which undoes the second INSERT
# and nothing before it. The second book becomes transient; the first one is untouched, and the
# outer transaction goes on.

# %% [markdown]
# Used as a context manager, `begin_nested()` releases the savepoint when the block ends without
# an error (and rolls back to it if an exception escapes). Predict the order of the statements.
#
# Expect: 1 SAVEPOINT, 1 INSERT (flush), 1 RELEASE

# %% A nested transaction, kept
with session.begin_nested():
    session.add(Book(title="Paper Moons", year=2023))

# %% [markdown] tags=["after"]
# SAVEPOINT, then the INSERT (the block flushes at its end), then `RELEASE SAVEPOINT`.

# %% [markdown]
# Commit the outer transaction. How many books does the database panel show afterwards?
#
# Expect: 1 COMMIT
# Expect: rows book == 2

# %% Commit
session.commit()

# %% [markdown] tags=["after"]
# Two: the two books that were kept.

# %% [markdown]
# Now the trap. A new session starts with a savepoint, before any other statement, adds a book,
# and releases the savepoint. Predict the SQL, then look at the database panel after this step: do
# the others see the new book?
#
# Expect: 1 SAVEPOINT, 1 INSERT (flush), 1 RELEASE

# %% A savepoint first thing in a transaction
trap = Session(engine)
with trap.begin_nested():
    trap.add(Book(title="Salt and Starlight", year=2020))

# %% [markdown] tags=["after"]
# On SQLite they do: the book is already there for everybody, **committed**, although we never
# called `commit()`. (On PostgreSQL they do not: psycopg began a real transaction before the
# SAVEPOINT, so the book waits in it, uncommitted, as it should.)

# %% [markdown]
# Does rolling back the whole transaction remove it? Predict the SQL and the titles printed.
#
# Expect: 1 ROLLBACK, 1 SELECT (query)
# Expect: prints "after rollback: ['The Lantern Map', 'Paper Moons', 'Salt and Starlight']"

# %% Roll back and look
trap.rollback()
print("after rollback:", trap.exec(select(Book.title).order_by(Book.id)).all())

# %% [markdown] tags=["after"]
# On SQLite it does not (on PostgreSQL it does, and the list has two titles). Why?
#
# > **SQLite note:** Python's `sqlite3` driver, in its "legacy" transaction control (the default
# > today), sends `BEGIN` to SQLite only just before an INSERT, UPDATE or DELETE, and SQLAlchemy's
# > `BEGIN (implicit)` sends nothing. So here the SAVEPOINT came first, and SQLite, seeing a
# > savepoint outside any transaction, started one of its own that the RELEASE committed. In the
# > first part of the lesson the flushed INSERT had already made the driver send `BEGIN`, which is
# > why everything worked there. With `autocommit=False` (Python 3.12+) the driver follows PEP 249
# > and keeps a transaction open from the start; the SQLAlchemy docs expect legacy mode to stop
# > being the default in a future Python.

# %% [markdown]
# The fix, from the SQLAlchemy docs: tell the driver to stop managing transactions
# (`isolation_level = None` on each new connection) and let SQLAlchemy send a real `BEGIN` at the
# start of every transaction. Two small event listeners on a second engine for the same file.
# (On Python 3.12 and later, `connect_args={"autocommit": False}` does the same job.)
#
# Expect: no SQL

# %% A second engine with the fix
fixed_engine = create_engine(url)


@event.listens_for(fixed_engine, "connect")
def _no_driver_transactions(dbapi_connection, _connection_record):
    dbapi_connection.isolation_level = None


@event.listens_for(fixed_engine, "begin")
def _send_begin(connection):
    connection.exec_driver_sql("BEGIN")


# %% [markdown]
# The same savepoint-first code on the fixed engine. Predict the statements, and whether the
# database panel shows a new book after the RELEASE.
#
# Expect: 2 BEGIN, 1 SAVEPOINT, 1 INSERT (flush), 1 RELEASE
# Expect: rows book == 3

# %% The savepoint inside a real transaction
fixed = Session(fixed_engine)
with fixed.begin_nested():
    fixed.add(Book(title="Tides of Ink", year=2021))

# %% [markdown] tags=["after"]
# This time a textual `BEGIN` goes out right after `BEGIN (implicit)` (two BEGINs), so the savepoint
# lives inside a real transaction, and the database panel shows no new book after the RELEASE.
# (PostgreSQL needs no fix: psycopg has begun a transaction already, and the server only warns
# that the extra `BEGIN` finds one in progress.)

# %% [markdown]
# Roll back again, and look. Predict the titles this time.
#
# Expect: 1 ROLLBACK, 1 SELECT (query)
# Expect: prints "after rollback: ['The Lantern Map', 'Paper Moons', 'Salt and Starlight']"

# %% Roll back on the fixed engine
fixed.rollback()
print("after rollback:", fixed.exec(select(Book.title).order_by(Book.id)).all())

# %% [markdown] tags=["after"]
# Rolling back the transaction now undoes everything in it, savepoint included.

# %% [markdown]
# Tidy up: close the sessions, close the engines' connections and remove the temporary folder.
# Which sessions still have a transaction to end?
#
# Expect: 0 statements, 2 ROLLBACK

# %% Tidy up
session.close()
trap.close()
fixed.close()
engine.dispose()
fixed_engine.dispose()
shutil.rmtree(folder)

# %% [markdown] tags=["after"]
# `trap` and `fixed`: the two ROLLBACKs end the transactions that our last queries opened.
