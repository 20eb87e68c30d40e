# %% [markdown]
# # Testing code that uses a session
#
# Tests want a database that is fast, empty at the start of every test, and the same one that the
# code under test reaches. Three pieces do it: an in-memory SQLite engine with `StaticPool`, so
# that every thread sees the same database; a **dependency override**, so that the code under
# test gets the test's session instead of the real one; and a transaction per test that is
# rolled back at the end, with `join_transaction_mode="create_savepoint"`, so that even a test
# that calls `commit()` leaves nothing behind. The `get_session` and `overrides` below are a
# stand-in for FastAPI's dependency and `app.dependency_overrides`, so that the lesson needs no web
# framework.
#
# Expect: no SQL
#
# Further reading: "Test Applications with FastAPI and SQLModel",
# https://sqlmodel.tiangolo.com/tutorial/fastapi/tests/ and SQLAlchemy, "Joining a Session into an
# External Transaction",
# https://docs.sqlalchemy.org/en/20/orm/session_transaction.html#joining-a-session-into-an-external-transaction-such-as-for-test-suites

# %% Setup
import threading

from sqlalchemy import event, func
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str


production = create_engine("sqlite://")  # the application's engine (a real file or server)


def get_session():
    """The application's dependency: one session per request."""
    with Session(production) as session:
        yield session


overrides = {}  # what FastAPI calls app.dependency_overrides


def add_book(title: str) -> int:
    """An endpoint: it asks for a session, adds a book and commits."""
    sessions = overrides.get(get_session, get_session)()
    session = next(sessions)
    session.add(Book(title=title))
    session.commit()
    return session.exec(select(func.count()).select_from(Book)).one()


# %% [markdown]
# A first try: a plain in-memory engine for the tests, tables created, and the check run in
# another thread, as a test client runs the application. Predict what the other thread finds.
#
# Expect: 1 CREATE

# %% An in-memory database in another thread
plain = create_engine("sqlite://")
SQLModel.metadata.create_all(plain)
found = []


def count_books() -> None:
    try:
        with Session(plain) as session:
            found.append(session.exec(select(func.count()).select_from(Book)).one())
    except OperationalError as error:
        found.append(f"OperationalError: {error.orig}")


worker = threading.Thread(target=count_books)
worker.start()
worker.join()
print(found)

# %% [markdown] tags=["after", "sqlite-only"]
# "no such table: book". For `sqlite://` SQLAlchemy keeps one connection **per thread**, and each
# connection to an in-memory database has a database of its own: the tables exist only in the
# main thread's.

# %% [markdown] tags=["after", "postgresql-only"]
# `[0]`: on PostgreSQL every connection, from any thread, reaches the same database on the server,
# so the other thread finds the table. On SQLite this step fails with "no such table: book": for
# `sqlite://` SQLAlchemy keeps one connection **per thread**, and each connection to an in-memory
# database has a database of its own. The next step is the cure for SQLite.

# %% [markdown]
# The fix from the SQLModel tutorial: `poolclass=StaticPool`, one connection for everybody, and
# `check_same_thread=False`, so that the driver lets other threads use it. We also add the two
# listeners of lesson 16, so that SQLite's transactions begin when SQLAlchemy's do (the rollback
# below depends on it). Predict what the other thread finds now.
#
# Expect: 1 CREATE, 1 SELECT

# %% StaticPool
engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})


@event.listens_for(engine, "connect")
def let_sqlalchemy_begin(dbapi_connection, _record):
    dbapi_connection.isolation_level = None


@event.listens_for(engine, "begin")
def send_begin(connection):
    connection.exec_driver_sql("BEGIN")


SQLModel.metadata.create_all(engine)
plain = engine
found.clear()
worker = threading.Thread(target=count_books)
worker.start()
worker.join()
print(found)

# %% [markdown] tags=["after"]
# `[0]`: the other thread used the same connection, and so the same database, with its table.

# %% [markdown]
# A test begins: a connection and a transaction of its own, and a session that joins it with
# `join_transaction_mode="create_savepoint"`. Then the dependency override. The test calls the
# endpoint, which commits. Predict the SQL where you would expect the COMMIT.
#
# Expect: 2 SAVEPOINT, 1 INSERT (flush), 1 RELEASE, 0 COMMIT

# %% A test that commits
connection = engine.connect()
outer = connection.begin()
test_session = Session(bind=connection, join_transaction_mode="create_savepoint")


def override_get_session():
    yield test_session


overrides[get_session] = override_get_session
print("books seen by the endpoint:", add_book("The Lantern Map"))

# %% [markdown] tags=["after"]
# The endpoint's `commit()` sent `RELEASE SAVEPOINT`, not COMMIT: the session's transaction is a
# savepoint inside the test's transaction, so "commit" only ends the savepoint. The endpoint saw
# its book (1), through the test's session, which the override handed it. Its count query began
# the session's next transaction, which is the second SAVEPOINT.

# %% [markdown]
# The test ends: close the session, roll back the test's transaction, close the connection. Then
# a fresh session counts the books. Predict the count.
#
# Expect: 1 ROLLBACK TO, 2 ROLLBACK, 1 SELECT

# %% The test ends
test_session.close()
outer.rollback()
connection.close()
overrides.clear()
with Session(engine) as session:
    print("books after the test:", session.exec(select(func.count()).select_from(Book)).one())

# %% [markdown] tags=["after"]
# 0. Closing the test's session rolled back its open savepoint (`ROLLBACK TO SAVEPOINT`); then
# the ROLLBACK of the test's transaction undid everything, the endpoint's "commit" included. (The
# second ROLLBACK ends the fresh session's read.)
# The next test starts from the same empty tables, without creating them again.
#
# > **SQLite note:** without the two listeners, Python's `sqlite3` driver (in its default legacy
# > transaction control) would not have begun a real transaction before the SAVEPOINT, and the
# > RELEASE would have committed the book for good (lesson 16). PostgreSQL needs no listeners.

# %% [markdown]
# Your turn: run a second "test" the same way, calling the endpoint twice, and check that the
# endpoint counts 2 books inside the test, then 0 after the rollback.
#
# Expect: 2 INSERT (flush), 2 RELEASE, 0 COMMIT, 2 ROLLBACK

# %% A second test tags=["exercise"] check="insert == 2; commit == 0; rollback == 2; prints 'books after the test: 0'" task="Run a second test that calls the endpoint twice inside a rolled-back transaction, and show that nothing is left after it." hint="Open a connection and begin its transaction, bind a Session to it with join_transaction_mode set to create_savepoint, override get_session, and roll the outer transaction back at the end."
connection = engine.connect()
outer = connection.begin()
test_session = Session(bind=connection, join_transaction_mode="create_savepoint")
overrides[get_session] = override_get_session
add_book("A Quiet Orbit")
print("books seen by the endpoint:", add_book("Paper Moons"))
test_session.close()
outer.rollback()
connection.close()
overrides.clear()
with Session(engine) as session:
    print("books after the test:", session.exec(select(func.count()).select_from(Book)).one())

# %% [markdown] tags=["after"]
# 2 inside, 0 after. In pytest the first three lines and the last four become a fixture with
# `yield` in between, and every test gets a clean database for the price of one ROLLBACK.
