# %% [markdown]
# # Rollback: what is undone, and what is not
#
# `session.rollback()` cancels the current transaction: every INSERT, UPDATE and DELETE sent since
# it began is undone in the database. The session then puts its objects back in line with the
# database. Each kind of object ends up in a different state, so watch the object panel closely.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Rolling Back",
# https://docs.sqlalchemy.org/en/20/orm/session_basics.html#rolling-back

# %% Setup
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError, PendingRollbackError
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(
        insert(Book).values(
            [{"title": "The Lantern Map", "year": 2019}, {"title": "A Quiet Orbit", "year": 2016}]
        )
    )
session = Session(engine)


def state(obj: Book) -> str:
    """The lifecycle state of an ORM object, read from SQLAlchemy's bookkeeping (no SQL)."""
    states = ("transient", "pending", "persistent", "deleted", "detached")
    return next(name for name in states if getattr(inspect(obj), name))


# %% [markdown]
# Load both books.
#
# Expect: 2 SELECT

# %% Load two books
lantern = session.get(Book, 1)
orbit = session.get(Book, 2)

# %% [markdown]
# Now three kinds of change, then a flush: `lantern` gets a new number of copies, `orbit` is
# deleted, and a new book is added. Predict the SQL.
#
# Expect: 1 UPDATE (flush), 1 DELETE (flush), 1 INSERT (flush)

# %% Change, delete, add, flush
lantern.copies = 9
session.delete(orbit)
garden = Book(title="The Clockwork Garden", year=2012)
session.add(garden)
session.flush()

# %% [markdown] tags=["after"]
# An UPDATE, a DELETE and an INSERT: all three are sent, inside one open transaction.

# %% [markdown]
# And one more book, added but not flushed. Predict its state, and the SQL.
#
# Expect: no SQL
# Expect: state Book#4 pending

# %% Add without flushing
moons = Book(title="Paper Moons", year=2023)
session.add(moons)

# %% [markdown] tags=["after"]
# It is pending, and nothing is sent.

# %% [markdown]
# Roll back. Predict each book's state before you step: `lantern` (changed), `orbit` (deleted),
# `garden` (inserted by the flush) and `moons` (pending).
#
# Expect: 1 ROLLBACK, 0 statements
# Expect: state Book#1 persistent
# Expect: state Book#2 persistent
# Expect: state Book#3 transient
# Expect: state Book#4 transient

# %% Roll back tags=["exercise"] check="sql == 0; rollback == 1; state Book#1 persistent; state Book#3 transient; prints 'garden: transient | moons: transient'" task="Undo everything since the last commit, keep the session usable, and print each book's state." hint="rollback() sends ROLLBACK and nothing else: objects added in the transaction become transient again."
session.rollback()
print("lantern:", state(lantern), "| orbit:", state(orbit))
print("garden:", state(garden), "| moons:", state(moons))

# %% [markdown] tags=["after"]
# - `lantern` (changed): persistent, but **expired**: its new value was thrown away with the
#   transaction, so the session will read the real one again;
# - `orbit` (deleted): the DELETE is undone, so it is **persistent** again (and expired);
# - `garden` (inserted by the flush): its row is gone, so it is **transient** again;
# - `moons` (pending): never sent, so it simply leaves the session: **transient**.
#
# Rollback sent nothing but ROLLBACK.

# %% [markdown]
# Now read the copies of `lantern` and the year of `orbit`. Predict the SQL, and the values.
#
# Expect: 2 SELECT (load expired), 1 BEGIN
# Expect: value Book#1.copies == 1
# Expect: value Book#2.year == 2016

# %% Read the restored values
print("lantern copies:", lantern.copies, "| orbit year:", orbit.year)

# %% [markdown] tags=["after"]
# The expired books load again on first access, in a new transaction, and their values are the
# ones from the database: 1 copy for `lantern`, not 9; and `orbit`, whose DELETE was undone, is
# readable again.

# %% [markdown]
# What does rollback **not** undo? Look at `garden`, which left the session: predict its id, and
# the SQL of reading it.
#
# Expect: no SQL
# Expect: value Book#3.id == 3
# Expect: state Book#3 transient

# %% Read the id of a rolled-back object
print("garden.id:", garden.id, "| in the session?", garden in session)

# %% [markdown] tags=["after"]
# Rollback does not undo plain Python values of objects that left the session. `garden` still
# carries the id its INSERT received, although no row has that id any more, and reading it sends
# nothing. Do not trust the id of an object that was rolled back.

# %% [markdown]
# The transient books are ordinary objects again; you can add them to the session once more.
# Predict the id that `moons` receives...
#
# Expect: 1 INSERT (flush), 1 COMMIT
# Expect: row book id=3 title == 'Paper Moons'

# %% Add one again and commit
session.add(moons)
session.commit()

# %% [markdown] tags=["after"]
# Here: 3, the same id that `garden` still claims (look at the object panel). Two objects, one
# id, only one of them true.
#
# > **SQLite note:** the 3 comes from SQLite, which gives a new row `max(rowid) + 1` of the rows
# > that exist, so the rolled-back id is handed out again. PostgreSQL and MySQL take ids from a
# > sequence or counter that a rollback does not wind back, so there `moons` would normally get 4.
# > Either way, `garden.id` is a stale id that no longer means anything.

# %% [markdown]
# Rollback is also how you recover from a failed flush. This book has no title (NOT NULL!).
# Predict what the flush sends.
#
# Expect: 1 INSERT (flush), 1 ROLLBACK
# Expect: raises IntegrityError

# %% Flush a book without a title tags=["raises-exception"]
session.add(Book(year=2024))
try:
    session.flush()
except IntegrityError as error:
    print("IntegrityError:", error.orig)

# %% [markdown] tags=["after"]
# The INSERT fails with an `IntegrityError`, and SQLAlchemy rolls back the database transaction at
# once.

# %% [markdown]
# We caught the error but did not call `session.rollback()`. Can the session still run a harmless
# query? Predict the SQL.
#
# Expect: no SQL
# Expect: raises PendingRollbackError

# %% Use the session without rolling back tags=["raises-exception"]
try:
    session.exec(select(Book)).all()
except PendingRollbackError as error:
    print(f"{type(error).__name__}: see https://sqlalche.me/e/21/{error.code}")

# %% [markdown] tags=["after"]
# No: the session remembers that its transaction failed, and refuses any further work, even a
# harmless query, with `PendingRollbackError`. No SQL is sent.

# %% [markdown]
# `session.rollback()` acknowledges the failure; then we run the query again. Predict the SQL.
#
# Expect: 1 SELECT (query), 0 INSERT

# %% Roll back and go on
session.rollback()
print([book.title for book in session.exec(select(Book).order_by(Book.id)).all()])
session.close()

# %% [markdown] tags=["after"]
# The session is usable again, and the broken book was thrown out of it: the query sends no
# INSERT.
