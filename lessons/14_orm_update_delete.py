# %% [markdown]
# # UPDATE and DELETE statements through the session
#
# `session.exec(update(Book).where(...).values(...))` changes many rows with one statement,
# without loading them. But what about the objects this session *has* loaded? Their values in
# memory would go stale. The option `synchronize_session` says what the session does about them:
# `"auto"` (the default), `"evaluate"`, `"fetch"` or `False`. This lesson tries each on loaded
# books, and shows the atomic `copies = copies - 1` that computes from the current row.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "ORM-Enabled INSERT, UPDATE, and DELETE statements",
# https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html

# %% Setup
from sqlalchemy import delete, insert, inspect, update
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
            [
                {"title": "The Lantern Map", "year": 2019, "copies": 3},
                {"title": "A Quiet Orbit", "year": 2016, "copies": 1},
                {"title": "Paper Moons", "year": 2023, "copies": 2},
            ]
        )
    )
session = Session(engine)

# %% [markdown]
# Load all three books, so that every row has an object in the identity map.
#
# Expect: 1 SELECT

# %% Load the books
lantern, orbit, moons = session.exec(select(Book).order_by(Book.id)).all()
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% [markdown]
# One copy of every book before 2020 is lent out: `values(copies=Book.copies - 1)`, with the
# default `synchronize_session="auto"`. Predict the SQL, and which loaded objects change in memory.
#
# Expect: 1 UPDATE, 0 SELECT
# Expect: value Book#1.copies == 2
# Expect: value Book#3.copies == 2

# %% auto: evaluated in Python
session.exec(update(Book).where(Book.year < 2020).values(copies=Book.copies - 1))
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% [markdown] tags=["after"]
# The UPDATE sends `SET copies=(book.copies - ?)`, so the database subtracts from the value it has
# *now*: the cure for a lost update, where two sessions overwrite each other's change (lesson 22
# will show one). With the default `"auto"`, the session first tries `"evaluate"`: it runs the
# WHERE clause and the new values in Python against the loaded objects. `lantern` and `orbit`
# match and get their new `copies` in memory; `moons` (2023) does not match and is left alone. One
# UPDATE, and no SELECT to read the results.
#
# Careful: "evaluate" computes the new value in Python, from the `copies` the object holds. If
# another session had changed that row since the object was loaded, the database would subtract
# from its current value, but the object would subtract from its stale one, and the two would
# disagree (stale data, which lesson 22 will look at). Expire or refresh the objects when that
# matters, or use `"fetch"`.

# %% [markdown]
# `synchronize_session="fetch"` asks the database which rows matched instead. Predict the SQL: how
# does it ask?
#
# Expect: 1 UPDATE, 0 SELECT

# %% fetch: ask the database tags=["exercise"] check="update == 1; select == 0; value Book#3.copies == 5; sql contains 'WHERE book.year > ?'" task="Set copies to 5 for every book after 2020 with one UPDATE, and keep the loaded books in step with it, without a SELECT." hint="With synchronize_session='fetch' the session learns from the database which rows changed and updates the objects it holds."
session.exec(
    update(Book).where(Book.year > 2020).values(copies=5).execution_options(synchronize_session="fetch")
)
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% [markdown] tags=["after"]
# On a database with `RETURNING` (SQLite 3.35+, PostgreSQL) it adds `RETURNING book.id` to the
# UPDATE; MySQL would get a SELECT before it. The matched objects are then brought up to date,
# here `moons`, whose row got 5 copies. `"auto"` falls back to `"fetch"` when a WHERE clause
# cannot be evaluated in Python.

# %% [markdown]
# `synchronize_session=False`: the UPDATE sets every book to 10 copies. Predict the SQL, and what
# the objects say afterwards.
#
# Expect: 1 UPDATE, 0 SELECT
# Expect: value Book#1.copies == 2

# %% False: no synchronization
session.exec(update(Book).values(copies=10).execution_options(synchronize_session=False))
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% [markdown] tags=["after"]
# `False` does nothing about loaded objects: they keep their old numbers, with no SQL to check:
# stale data (lesson 22 will say more), which the object panel shows as perfectly normal values.
# Use it only when you load nothing you will read again, or expire afterwards.

# %% [markdown]
# `session.expire_all()` is the way out after `False`. Predict the SQL of reading the three books
# afterwards.
#
# Expect: 3 SELECT (load expired)

# %% Expire, then read
session.expire_all()
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% [markdown] tags=["after"]
# The next read of each object sends a SELECT and sees 10: one SELECT per object, three in all.

# %% [markdown]
# A DELETE statement synchronizes the same way (lesson 13). With `"evaluate"`, predict the state of
# each book after the DELETE, and of `orbit` after the commit.
#
# Expect: 1 DELETE, 1 COMMIT
# Expect: state Book#2 detached
# Expect: rows book == 2

# %% A DELETE statement, evaluated
session.exec(delete(Book).where(Book.year < 2018).execution_options(synchronize_session="evaluate"))
print({book.title: inspect(book).deleted for book in (lantern, orbit, moons)})
session.commit()
print("orbit detached?", inspect(orbit).detached)
session.close()

# %% [markdown] tags=["after"]
# The loaded objects that match the WHERE become **deleted**, as after a flush, and leave the
# identity map. `orbit` (2016) matches; the others stay persistent. The commit then makes it
# detached.
