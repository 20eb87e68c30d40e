# %% [markdown]
# # session.get and the identity map
#
# Every session keeps an **identity map**: a dictionary from primary key to the one Python object
# that stands for that row in this session. It is why the same row never turns into two different
# objects in one session, and why `session.get` can often answer without asking the database.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: "Read One Row", https://sqlmodel.tiangolo.com/tutorial/one/ and SQLAlchemy,
# "Is the Session a cache?",
# https://docs.sqlalchemy.org/en/20/orm/session_basics.html#is-the-session-a-cache

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import insert, inspect
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


# Later a second session works next to the first, so the database is a file: sessions on an
# in-memory database would share one connection, and so one transaction.
folder = Path(tempfile.mkdtemp())
engine = create_engine(f"sqlite:///{folder / 'library.db'}")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(
        insert(Book).values(
            [
                {"title": "The Lantern Map", "year": 2019, "copies": 3},
                {"title": "A Quiet Orbit", "year": 2016, "copies": 2},
                {"title": "Paper Moons", "year": 2023, "copies": 1},
            ]
        )
    )
session = Session(engine)

# %% [markdown]
# `session.get(Book, 1)` looks up a row by primary key, in a session that has loaded nothing yet.
# Predict the SQL.
#
# Expect: 1 SELECT

# %% Get book 1
lantern = session.get(Book, 1)
print(lantern.title)

# %% [markdown] tags=["after"]
# The identity map was empty, so the session had to ask the database.

# %% [markdown]
# Ask for the same primary key again. Predict the SQL before you step...
#
# Expect: no SQL

# %% Get book 1 again tags=["exercise"] check="sql == 0; object again == Book#1; prints 'same object? True'" task="Put book 1 into again without sending any SQL, and print whether it is the same object as lantern." hint="session.get() looks in the identity map before it asks the database."
again = session.get(Book, 1)
print("same object?", again is lantern)

# %% [markdown] tags=["after"]
# Nothing was sent: `get` found key 1 in the identity map and returned **the very same object**
# (`is` compares identity, not values). The object panel shows one object with two names.

# %% [markdown]
# Now look the same row up with a query, by its title. Does the query reach the database, and
# which object does it return?
#
# Expect: 1 SELECT (query)
# Expect: object by_title == Book#1

# %% Query the same row
by_title = session.exec(select(Book).where(Book.title == "The Lantern Map")).one()
print("same object?", by_title is lantern)

# %% [markdown] tags=["after"]
# A query always runs, because the session cannot know which rows a WHERE clause matches without
# asking. But when the row comes back, the session looks up its primary key in the identity map
# and hands you the object it already has.

# %% [markdown]
# What does `get` send, and return, for a key with no row?
#
# Expect: 1 SELECT
# Expect: prints 'book 42: None'

# %% Get a missing book
print("book 42:", session.get(Book, 42))

# %% [markdown] tags=["after"]
# A SELECT that finds nothing, and `get` returns `None`.

# %% [markdown]
# Ask for the missing key once more. Predict the SQL.
#
# Expect: 1 SELECT

# %% Get the missing book again
print("book 42:", session.get(Book, 42))

# %% [markdown] tags=["after"]
# The same SELECT again: the identity map only remembers rows that exist, so "no such row" is not
# remembered.

# %% [markdown]
# We change `copies` through the name `again`. What do `lantern` and `by_title` say, and does
# anything reach the database?
#
# Expect: no SQL
# Expect: prints 'lantern.copies: 4 | by_title.copies: 4'
# Expect: value Book#1.copies == 4

# %% Change it through one name
again.copies = 4
print("lantern.copies:", lantern.copies, "| by_title.copies:", by_title.copies)

# %% [markdown] tags=["after"]
# One object per row means a change made through one name is visible through every other name.
# There is only one book here, after all. Nothing was sent: the change waits in the session.

# %% [markdown]
# The identity map belongs to one session. What does a second session's `get` of the same row
# send, and which object, with which `copies`, does it return?
#
# Expect: 1 SELECT
# Expect: object other_lantern == Book#2
# Expect: value Book#2.copies == 3

# %% Get the book in a second session
other = Session(engine)
other_lantern = other.get(Book, 1)
print("same object?", other_lantern is lantern)
print("copies in the first session:", lantern.copies, "| in the second:", other_lantern.copies)

# %% [markdown] tags=["after"]
# A second session has its own, empty map: its `get` sends a SELECT and builds a **different**
# object for the same row. The two objects know nothing about each other; notice that the second
# one has the database value of `copies`, not the 4 we set in the first session and never flushed.

# %% [markdown]
# One more subtlety: what does `get` do with an object that is in the identity map but partly
# expired? Here only `copies` is expired. Predict the SQL.
#
# Expect: no SQL
# Expect: expired Book#2 copies

# %% Get a partly expired object
other.expire(other_lantern, ["copies"])
print("same object?", other.get(Book, 1) is other_lantern)
print("expired:", sorted(inspect(other_lantern).expired_attributes))

# %% [markdown] tags=["after"]
# `get` returns the object **without any SQL**. It checks only whether the object as a whole is
# expired; the missing `copies` is loaded later, when you read it.

# %% [markdown]
# After a plain `expire(obj)` (or a commit), the **whole** object is expired. It is still in the
# identity map: what does `get` do now? Predict the SQL.
#
# At the end both sessions close and we remove the database file.
#
# Expect: 1 SELECT (load expired)
# Expect: prints 'title: The Lantern Map'

# %% Get an expired object
other.expire(other_lantern)
print("title:", other.get(Book, 1).title)
other.close()
session.close()
print("lantern.copies after its session closed:", lantern.copies)
engine.dispose()
shutil.rmtree(folder)

# %% [markdown] tags=["after"]
# Now `get` loads the object first: one SELECT.
#
# The change to `copies` in the first session was never flushed: closing the session threw the
# pending UPDATE away, and the database still says 3 (the second session's `get` has just read
# it: `other_lantern` holds 3). But the detached `lantern` still says 4. Object and database now disagree, and nothing warns you: a detached
# object shows what it last held, not what the database has.
