# %% [markdown]
# # Session factories and transaction scope
#
# Real programs rarely write `Session(engine)` all over the place. They configure a **factory**
# once, `sessionmaker(...)`, and ask it for a session per unit of work: per request, per job, per
# thread. This lesson shows the factory, `with Factory.begin():` (commit at the end of the block,
# rollback on an error), one session per thread, and what `check_same_thread` is about.
#
# Several threads need several connections, so the database is a file in a temporary folder.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Using a sessionmaker",
# https://docs.sqlalchemy.org/en/20/orm/session_basics.html#using-a-sessionmaker and "Is the
# Session thread-safe?",
# https://docs.sqlalchemy.org/en/20/orm/session_basics.html#is-the-session-thread-safe-is-asyncsession-safe-to-share-in-concurrent-tasks

# %% Setup
import shutil
import tempfile
import threading
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker
from sqlmodel import Field, Session, SQLModel, create_engine, func, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    copies: int = 1


folder = Path(tempfile.mkdtemp())
engine = create_engine(f"sqlite:///{folder / 'library.db'}")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Book).values(title="The Lantern Map", copies=3))

# %% [markdown]
# The factory holds the settings for every session it makes: the engine, `class_=Session` (so
# that we get SQLModel's session, with `exec`), and here `expire_on_commit=False`. Calling it gives
# a new, ordinary session. Predict the SQL of creating the factory, then reading with one of its
# sessions in a `with` block.
#
# Expect: 1 SELECT, 1 ROLLBACK

# %% A session factory
LibrarySession = sessionmaker(engine, class_=Session, expire_on_commit=False)
with LibrarySession() as session:
    print("expire_on_commit:", session.expire_on_commit)
    print("books:", session.exec(select(Book.title)).all())

# %% [markdown] tags=["after"]
# Creating the factory sends nothing. The session closes at the end of the `with` block: the
# ROLLBACK ends its read-only transaction.

# %% [markdown]
# `with LibrarySession.begin() as session:` opens a session **and** a transaction. When the block
# ends normally it commits (you write no `commit()`), then closes. Predict the SQL, and the line
# it is attributed to.
#
# Expect: 1 INSERT (flush), 1 COMMIT
# Expect: line insert == 'with LibrarySession.begin() as session:'

# %% Add a book inside begin() tags=["exercise"] check="insert == 1; commit == 1; rollback == 0" task="Add A Quiet Orbit through LibrarySession so that it is committed when the block ends." hint="with Session.begin() as session: commits when the block ends without an error."
with LibrarySession.begin() as session:
    session.add(Book(title="A Quiet Orbit"))

# %% [markdown] tags=["after"]
# The INSERT (the commit's flush) and COMMIT, both on the line of the `with`.

# %% [markdown]
# And if an exception leaves the block? Predict the SQL, and the number of books in the database
# panel afterwards.
#
# Expect: 1 INSERT (flush), 1 ROLLBACK, 0 COMMIT
# Expect: raises ValueError
# Expect: rows book == 2

# %% An error inside begin() tags=["raises-exception"]
try:
    with LibrarySession.begin() as session:
        session.add(Book(title="Paper Moons"))
        session.flush()
        raise ValueError("the catalogue card is missing")
except ValueError as error:
    print("rolled back:", error)

# %% [markdown] tags=["after"]
# The block rolls back instead, and the exception goes on to the caller. Here the flush had
# already sent the INSERT; the ROLLBACK undoes it. The database panel still shows two books.

# %% [markdown]
# **One session per thread.** A `Session` is not thread-safe: it is one unit of work with one
# connection, and two threads using it at once would mix their transactions. So each thread
# asks the factory for its own session. Three threads lend a copy each (we start them one after
# the other, so that the transcript is always in the same order). Predict the SQL.
#
# Expect: 3 SELECT, 3 UPDATE (flush), 3 COMMIT

# %% One session per thread


def lend(book_id: int) -> None:
    with LibrarySession.begin() as session:
        book = session.get(Book, book_id)
        book.copies -= 1
        print(threading.current_thread().name, "lent", book.title)


for number, book_id in enumerate([1, 1, 2]):
    worker = threading.Thread(target=lend, args=(book_id,), name=f"worker-{number}")
    worker.start()
    worker.join()

# %% [markdown] tags=["after"]
# Each thread has its own transaction: a SELECT, an UPDATE and a COMMIT.

# %% [markdown]
# **`check_same_thread`.** Python's `sqlite3` driver normally refuses to use a connection in a
# thread other than the one that opened it. SQLAlchemy passes `check_same_thread=False` for a
# SQLite *file*, because its pool hands a connection to whichever thread checks it out next (look
# at the `connect_args` it computes below). That makes *connections* movable between threads; it
# does not make a *session* shareable. Does checking the setting need the database?
#
# > **SQLite note:** an in-memory `sqlite://` database lives inside one connection, and
# > SQLAlchemy's pool for it keeps one connection per thread: a second thread would get a new,
# > empty database ("no such table"). Test setups share one with
# > `poolclass=StaticPool, connect_args={"check_same_thread": False}`. PostgreSQL and MySQL
# > drivers have no such check.
#
# Expect: no SQL
# Expect: prints 'pool: QueuePool'

# %% What check_same_thread is set to
print("connect_args:", engine.dialect.create_connect_args(engine.url)[1])
print("pool:", type(engine.pool).__name__)

# %% [markdown] tags=["after"]
# No: the settings live in Python, so checking them sends no SQL.

# %% [markdown]
# The result of the three loans, and the number of books, with a last factory session. Then we
# dispose of the engine and remove the temporary folder.
#
# Expect: 2 SELECT, 1 ROLLBACK

# %% Count and tidy up
with LibrarySession() as session:
    print(session.exec(select(Book.title, Book.copies).order_by(Book.id)).all())
    print("books:", session.exec(select(func.count()).select_from(Book)).one())
engine.dispose()
shutil.rmtree(folder)
