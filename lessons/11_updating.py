# %% [markdown]
# # Updating: dirty objects and attribute history
#
# To change a row you change the attribute of its object. That's it: no `update` call. The session
# notices, remembers the old and the new value, and at the next flush sends an UPDATE with the
# columns that changed. "Exactly the columns that changed" holds only when the old values are
# loaded: the session can compare only what it knows, so for an expired object every column you
# set goes into the UPDATE, changed or not (you will see both below).
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: "Update Data - UPDATE", https://sqlmodel.tiangolo.com/tutorial/update/ and
# SQLAlchemy, "AttributeState.history",
# https://docs.sqlalchemy.org/en/20/orm/internals.html#sqlalchemy.orm.AttributeState.history

# %% Setup
from sqlalchemy import insert, inspect
from sqlmodel import Field, Session, SQLModel, create_engine


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
                {"title": "A Quiet Orbit", "year": 2016, "copies": 2},
            ]
        )
    )
session = Session(engine)

# %% [markdown]
# Load a book to work on.
#
# Expect: 1 SELECT

# %% Load a book
lantern = session.get(Book, 1)

# %% [markdown]
# Set an attribute. Predict the SQL, and where the session panel lists the book afterwards.
#
# Expect: no SQL

# %% Change the number of copies
lantern.copies = 4
print("dirty?", lantern in session.dirty)

# %% [markdown] tags=["after"]
# Nothing is sent, but the object is now **dirty**: `session.dirty` lists it, and the session
# panel shows it under "dirty".

# %% [markdown]
# How does the session know what changed? Every attribute keeps a **history**: `added` is the new
# value, `deleted` the value it replaces, `unchanged` a value that was loaded and not touched.
# `inspect(obj).attrs.<name>.history` shows it.
#
# Expect: no SQL
# Expect: prints 'copies: History(added=[4], unchanged=(), deleted=[3])'

# %% Look at the history
print("copies:", inspect(lantern).attrs.copies.history)
print("title: ", inspect(lantern).attrs.title.history)

# %% [markdown]
# Commit flushes first. Predict the UPDATE: which columns does it set?
#
# Expect: 1 UPDATE (flush), 1 COMMIT
# Expect: sql contains 'SET copies=?'

# %% Commit the change tags=["exercise"] check="update == 1; flush == 1; commit == 1; row book id=1 copies == 4" task="Make the change to lantern permanent in the database." hint="commit() flushes first: the changed book becomes one UPDATE, then the transaction commits."
session.commit()

# %% [markdown] tags=["after"]
# Only `copies`, the one with something in `added`. The WHERE clause uses the primary key from
# the identity map.

# %% [markdown]
# Web APIs often receive a dictionary of new values. SQLModel's `sqlmodel_update` sets each one as
# an attribute. Here `year` gets the value it already has; only `copies` really changes.
#
# But the commit expired the book. Does **setting** an attribute load it? Predict the SQL, and the
# history of both attributes.
#
# Expect: no SQL
# Expect: expired Book#1 id, title
# Expect: value Book#1.copies == 5

# %% Update an expired book from a dictionary
lantern.sqlmodel_update({"year": 2019, "copies": 5})
print("year:  ", inspect(lantern).attrs.year.history)
print("copies:", inspect(lantern).attrs.copies.history)

# %% [markdown] tags=["after"]
# Setting an attribute does not load anything. So the session does not know the old values: the
# history has the new value in `added` and nothing in `deleted`.

# %% [markdown]
# Predict the flush: which columns does the UPDATE set, and does anything come before it?
#
# Expect: 1 SELECT (load expired), 1 UPDATE (flush)
# Expect: sql contains 'SET year=?, copies=?'

# %% Flush
session.flush()

# %% [markdown] tags=["after"]
# Without the old values, the session cannot prove that `year` did not change, so the UPDATE
# sets **both** columns. And to write `WHERE book.id = ...` it needs the id, which is still expired:
# it loads the missing attributes first, with one SELECT.

# %% [markdown]
# Now the same dictionary update on a book whose values are loaded. Predict the history this time.
#
# Expect: no SQL
# Expect: prints 'copies: History(added=[6], unchanged=(), deleted=[5])'

# %% Update a loaded book from a dictionary
lantern.sqlmodel_update({"year": 2019, "copies": 6})
print("year:  ", inspect(lantern).attrs.year.history)
print("copies:", inspect(lantern).attrs.copies.history)

# %% [markdown] tags=["after"]
# This time the history knows better: `year` is `unchanged`, and only `copies` has a `deleted`
# value to replace.

# %% [markdown]
# Predict the flush again: which columns does the UPDATE set, and does anything come before it?
#
# Expect: 1 UPDATE (flush), 0 SELECT
# Expect: sql contains 'SET copies=? WHERE'

# %% Flush the loaded book
session.flush()

# %% [markdown] tags=["after"]
# The UPDATE sets `copies` alone: assigning the value a column already has is not a change. And
# nothing was expired, so nothing is loaded first.

# %% [markdown]
# Now a change that is undone before the flush: we set `copies` to 9, then back to 2. Is the book
# dirty? Is it modified? What does the flush send?
#
# Expect: 1 SELECT (get), 0 UPDATE
# Expect: prints 'dirty? True | modified? False'

# %% Change a value, change it back, flush
orbit = session.get(Book, 2)
orbit.copies = 9
orbit.copies = 2
print("dirty?", orbit in session.dirty, "| modified?", session.is_modified(orbit))
session.flush()

# %% [markdown] tags=["after"]
# A change that is undone before the flush is no change at all. Both assignments make the book
# count as "dirty", because `session.dirty` is quick and optimistic: it lists every object whose
# attributes were *set*. `session.is_modified(obj)` compares the values, and says no. So the
# flush finds nothing to send for `orbit`: the only statement is the SELECT of `get`.

# %% [markdown]
# Commit. Predict the SQL, and the number of copies of "The Lantern Map" in the database panel.
#
# Expect: 0 UPDATE, 1 COMMIT
# Expect: row book id=1 copies == 6

# %% Commit
session.commit()
session.close()

# %% [markdown] tags=["after"]
# The commit sends no UPDATE: both UPDATEs for `lantern` went out with the earlier flushes, and
# commit only makes them permanent. The database panel says `copies` is 6.
