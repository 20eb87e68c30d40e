# %% [markdown]
# # Concurrency: lost updates, version counters and row locks
#
# Two sessions read the same row, both compute a new value from what they read, and both write.
# The second write silently wipes out the first: a **lost update**. Lesson 22 showed why fresh
# reads do not prevent it, and the atomic `copies = copies - 1`. This lesson shows the lost update
# happening, then two more cures: a version counter (`version_id_col`) that makes the stale write
# fail with `StaleDataError`, and a row lock (`with_for_update()`), which SQLite ignores; on
# SQLite, `BEGIN IMMEDIATE` does that job for the whole database.
#
# Two sessions at once need two connections, so the database is a file in a temporary folder.
# `Book` has no protection; `Shelf` carries a version counter: `__mapper_args__` names its
# `version` column as the `version_id_col`.
#
# Shows: 2 CREATE, 2 INSERT
#
# Further reading: SQLAlchemy, "Configuring a Version Counter",
# https://docs.sqlalchemy.org/en/20/orm/versioning.html

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import Column, Integer, event, insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    copies: int = 1


shelf_version = Column("version", Integer, nullable=False)


class Shelf(SQLModel, table=True):
    __mapper_args__ = {"version_id_col": shelf_version}
    id: int | None = Field(default=None, primary_key=True)
    name: str
    free_slots: int
    version: int | None = Field(default=None, sa_column=shelf_version)


folder = Path(tempfile.mkdtemp())
engine = create_engine(f"sqlite:///{folder / 'library.db'}")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Book).values(title="The Lantern Map", copies=3))
    connection.execute(insert(Shelf).values(name="New arrivals", free_slots=3, version=1))
desk = Session(engine)
web = Session(engine)

# %% [markdown]
# The desk and the website each load the book: both see 3 copies.
#
# Expect: 2 SELECT

# %% Both read the book
desk_book = desk.get(Book, 1)
web_book = web.get(Book, 1)
print("desk sees", desk_book.copies, "| web sees", web_book.copies)

# %% [markdown]
# Both lend a copy, computing in Python from what they read: each writes `copies=2`. Predict the
# final value.
#
# Expect: 2 UPDATE (flush), 2 COMMIT
# Expect: row book id=1 copies == 2

# %% Both lend a copy
web_book.copies -= 1
web.commit()
desk_book.copies -= 1
desk.commit()

# %% [markdown] tags=["after"]
# Two loans from 3 should leave 1, but the database ends with 2 (see the database panel). The
# website's loan is lost, and nobody got an error.

# %% [markdown]
# The same race on the versioned `Shelf`. Both sessions load it at version 1, and the website
# takes a slot and commits. Predict the website's UPDATE: what does it set, and what does its WHERE
# check? A last query reads the version from the database.
#
# Expect: 3 SELECT, 1 UPDATE (flush), 1 COMMIT
# Expect: prints "version after the web's write: 2"

# %% Both load the shelf, the web writes
desk_shelf = desk.get(Shelf, 1)
web_shelf = web.get(Shelf, 1)
web_shelf.free_slots -= 1
web.commit()
print("version after the web's write:", web.exec(select(Shelf.version)).one())

# %% [markdown] tags=["after"]
# The UPDATE sets `free_slots` and `version`, and its WHERE checks `shelf.id` and `shelf.version`.
# The ORM raises the version to 2, and writes only if the row is still at the version it read. The last
# query reads the version from the database: 2.

# %% [markdown]
# Now the desk writes from its stale copy, read at version 1. What happens? Predict the SQL.
#
# Expect: 1 UPDATE (flush), 0 COMMIT, 1 ROLLBACK
# Expect: raises StaleDataError

# %% Write from the stale copy tags=["raises-exception"]
desk_shelf.free_slots -= 1
try:
    desk.commit()
except StaleDataError as error:
    print("StaleDataError:", error)
    desk.rollback()

# %% [markdown] tags=["after"]
# Its UPDATE says `WHERE ... AND shelf.version = 1`, which matches no row any more. The ORM sees
# "0 rows matched" instead of 1 and raises `StaleDataError`: the lost update became an error you
# can handle (reload, recompute, retry). The session rolls back.

# %% [markdown]
# The retry: after the rollback the desk takes its slot again. Predict the SQL, and the free slots
# that a last query reads.
#
# Expect: 1 SELECT (load expired), 1 UPDATE (flush), 1 COMMIT

# %% Retry from fresh data
desk_shelf.free_slots -= 1
desk.commit()
print("free slots:", desk.exec(select(Shelf.free_slots)).one())

# %% [markdown] tags=["after"]
# After the rollback the desk's shelf was expired, so reading it loaded version 2 and 2 free slots;
# the desk took its slot from there, and this time the UPDATE matched (version 2 became 3). The
# last query reads 1 free slot.

# %% [markdown] tags=["sqlite-only"]
# A **row lock** is the pessimistic cure: `select(...).with_for_update()` reads the row and locks
# it until the transaction ends, so that a second session that wants the same lock waits. Predict
# the SQL on SQLite...
#
# Expect: 1 SELECT, 1 UPDATE (flush), 1 COMMIT

# %% [markdown] tags=["postgresql-only"]
# A **row lock** is the pessimistic cure: `select(...).with_for_update()` reads the row and locks
# it until the transaction ends, so that a second session that wants the same lock waits. Predict
# the SQL on PostgreSQL: where is the lock in it?
#
# Expect: 1 SELECT, 1 UPDATE (flush), 1 COMMIT

# %% with_for_update tags=["exercise"] check="select == 1; update == 1; commit == 1; sql contains 'FOR UPDATE'; changed == 1" task="Take one copy of book 1 at the desk so that no other session can change the row between the read and the write." hint="Read the row with with_for_update(), change it and commit: one SELECT, one UPDATE."
book = desk.exec(select(Book).where(Book.id == 1).with_for_update()).one()
book.copies -= 1
desk.commit()

# %% [markdown] tags=["after", "postgresql-only"]
# At the end of the SELECT: `FOR UPDATE`. From that SELECT until the commit, the row of book 1 is
# the desk's: another session's `SELECT ... FOR UPDATE` of it, or its UPDATE or DELETE, waits until
# the desk commits. A plain SELECT does not wait, and reads the last committed value, so every
# writer must take the lock for it to protect anything. The next step shows the wait.

# %% [markdown] tags=["after", "sqlite-only"]
# ...there is no `FOR UPDATE` in it at all.
#
# > **SQLite note:** SQLite has no row locks, and SQLAlchemy's SQLite dialect leaves
# > `FOR UPDATE` out, so on SQLite this code prevents nothing: the `sqlite3` driver, in its default
# > legacy transaction control, even runs the SELECT outside any transaction (lesson 16), and
# > another session can read and write the row in between. SQLite locks the whole database only while a transaction writes.
#
# On PostgreSQL and MySQL the same code sends `SELECT ... FOR UPDATE`. Then another session's
# `SELECT ... FOR UPDATE` of that row, or its UPDATE or DELETE, waits until the first session
# commits; a plain SELECT does not wait, and reads the last committed value. So every writer must
# take the lock for it to protect anything. On SQLite, use the version counter above, an atomic
# UPDATE (lesson 22), or the next step.

# %% [markdown] tags=["sqlite-only"]
# SQLite's own lock: `BEGIN IMMEDIATE` takes the database's write lock when the transaction
# starts, before the first read. The SQLAlchemy docs show how: tell the `sqlite3` driver to stop
# managing transactions, and send the BEGIN from a `begin` event. `first` reads the book in such a
# transaction; then `second` tries to start one. Predict what happens to `second`. (Its
# `timeout` of 0.1 seconds says how long to wait for the lock; the default is 5.)
#
# Expect: 1 SELECT, 1 UPDATE (flush), 1 COMMIT
# Expect: raises OperationalError

# %% BEGIN IMMEDIATE on SQLite tags=["raises-exception", "sqlite-only"]
locking = create_engine(f"sqlite:///{folder / 'library.db'}", connect_args={"timeout": 0.1})


@event.listens_for(locking, "connect")
def let_sqlalchemy_begin(dbapi_connection, _record):
    dbapi_connection.isolation_level = None


@event.listens_for(locking, "begin")
def begin_immediate(connection):
    connection.exec_driver_sql("BEGIN IMMEDIATE")


first, second = Session(locking), Session(locking)
book = first.get(Book, 1)
try:
    second.get(Book, 1)
except OperationalError as error:
    print("second:", error.orig)
book.copies -= 1
first.commit()
first.close()
second.close()
locking.dispose()

# %% [markdown] tags=["after", "sqlite-only"]
# `second` could not even start: "database is locked". `first` holds the write lock from its
# first read until its commit, so nobody can slip a write in between, and `second` gets an error
# after its timeout instead of a stale value (from another thread, with the default timeout, it
# would wait up to 5 seconds for `first` to commit, and then go ahead). The price is that writers take turns for the whole database.

# %% [markdown] tags=["postgresql-only"]
# The lock at work: `first` reads book 1 `FOR UPDATE`, then `second` asks for the same lock while
# `first` has not committed. One thread cannot wait for itself, so `second` sets a short
# `lock_timeout` (100 ms) for its transaction: the error it gets is the proof that it would have
# waited. Predict which statement fails, and what `first` can still do.
#
# Expect: 2 SELECT, 1 UPDATE (flush), 1 COMMIT, 1 ROLLBACK

# %% A second FOR UPDATE waits tags=["raises-exception", "postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    first, second = Session(engine), Session(engine)
    book = first.exec(select(Book).where(Book.id == 1).with_for_update()).one()
    second.connection().exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
    try:
        second.exec(select(Book).where(Book.id == 1).with_for_update()).one()
    except OperationalError as error:
        print("second:", str(error.orig).splitlines()[0])
        second.rollback()
    book.copies -= 1
    first.commit()
    first.close()
    second.close()

# %% [markdown] tags=["after", "postgresql-only"]
# `second`'s `SELECT ... FOR UPDATE` waited for the row's lock until its `lock_timeout`, and gave
# up: "canceling statement due to lock timeout". Without the timeout it would have waited until
# `first` committed, then read the new number of copies. `first` was never held up: it changed
# the book and committed. Unlike SQLite's `BEGIN IMMEDIATE`, which locks the whole database,
# PostgreSQL locks only the rows read `FOR UPDATE`: writers of other books go on in parallel.

# %% [markdown]
# Tidy up: close both sessions and the engine, and remove the temporary folder. Does either session
# still have a transaction to end?
#
# Expect: 0 statements

# %% Tidy up
desk.close()
web.close()
engine.dispose()
shutil.rmtree(folder)

# %% [markdown] tags=["after"]
# The web session does: its last read opened one, and closing ends it with a ROLLBACK.
