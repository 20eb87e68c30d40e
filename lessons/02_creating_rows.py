# %% [markdown]
# # Creating rows: transient, pending, persistent
#
# An object of a table class goes through a few **states** on its way into the database. sqlecho
# shows the state of every object after each step; this lesson walks through the first three.
#
# First the usual setup: a `Book` table in a fresh in-memory database.
#
# Shows: 1 CREATE
#
# Further reading: "Create Rows - Use the Session - INSERT",
# https://sqlmodel.tiangolo.com/tutorial/insert/ and "Automatic IDs, None Defaults, and
# Refreshing Data", https://sqlmodel.tiangolo.com/tutorial/automatic-id-none-refresh/

# %% Setup
from sqlalchemy import inspect
from sqlmodel import Field, Session, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)

# %% [markdown]
# Creating a `Book` is just creating a Python object. Which state is it in, what is its `id`, and
# does the database hear of it?
#
# `inspect(obj)` gives SQLAlchemy's bookkeeping for an object, including its state.
#
# Expect: no SQL
# Expect: state Book#1 transient
# Expect: value Book#1.id == None

# %% Make two books
lantern = Book(title="The Lantern Map", year=2019)
orbit = Book(title="A Quiet Orbit", year=2016, copies=2)
print("lantern.id:", lantern.id)
print("transient?", inspect(lantern).transient)

# %% [markdown] tags=["after"]
# The book is **transient**: no session knows it, and the database has never heard of it. Its
# `id` is `None`, because ids are handed out by the database and we have not asked the database
# anything yet.

# %% [markdown]
# A **session** is the workspace where you stage changes before they go to the database.
#
# `session.add` puts the book into the session. Predict its new state, its `id`, and the SQL.
# `session.new` lists what the session plans to INSERT.
#
# Expect: no SQL
# Expect: state Book#1 pending
# Expect: value Book#1.id == None

# %% Add the first book to a session
session = Session(engine)
session.add(lantern)
print("pending?", inspect(lantern).pending, "| id:", lantern.id)
print("pending in the session:", [book.title for book in session.new])

# %% [markdown] tags=["after"]
# The book is **pending**: the session plans to INSERT it, but has not done so. No SQL, and still
# no id. Opening the session cost nothing either: it does not connect until it has something to
# do.

# %% [markdown]
# Now add the second book. Does the database hear of it?
#
# Expect: no SQL

# %% Add the second book
session.add(orbit)
print("pending in the session:", [book.title for book in session.new])

# %% [markdown] tags=["after"]
# No: adding the second book changes nothing in the database either. A session can collect as
# many changes as you like; it sends them together later.

# %% [markdown]
# `session.flush()` sends the pending changes to the database. Predict the SQL before you step.
#
# Expect: 2 INSERT (flush), 1 BEGIN, 0 COMMIT

# %% Flush
session.flush()
print("ids:", lantern.id, orbit.id)
print("persistent?", inspect(lantern).persistent, "| identity:", inspect(lantern).identity)
print("still pending:", list(session.new))

# %% [markdown] tags=["after"]
# The database answers with the id of each new row, and SQLAlchemy stores it in the object.
#
# Look closely at the INSERT statements. Because two rows of the same table are flushed together,
# SQLAlchemy uses its "[insertmanyvalues](GLOSSARY.md#the-database-side)" mode: it adds
# [`RETURNING id`](GLOSSARY.md#the-database-side) so that the database hands
# back the new ids, and sends the rows in batches; "batch 1/2" means the first of two.
#
# > **SQLite note:** on SQLite each batch holds one row, so you see one INSERT per book: that way
# > SQLAlchemy knows for sure which id belongs to which object. A flush of a single new row sends
# > a plain INSERT without `RETURNING` and reads the id from the driver's `lastrowid` instead
# > (lesson 3 will show it); MySQL works the same way. On PostgreSQL, SQLAlchemy puts up to 1,000
# > rows into one batch (here both books go in one INSERT, "batch 1/1") and matches the returned
# > ids to the objects with a sentinel, and a single row gets its id from `RETURNING` (lesson 30
# > will say more).
#
# After the flush, both books are **persistent**: they belong to the session *and* have a row in
# the database. The session now files each one in its **identity map** (see the
# [glossary](GLOSSARY.md#the-session-side)) under its primary key:
# `inspect(book).identity` is that key.
#
# Notice the `BEGIN (implicit)` before the INSERTs: the first flush opened a transaction. It is
# still open, so the rows are not final yet. (Look at the database panel: it shows what another
# connection would see, and it does not see our books yet. Lesson 3 will be all about this.)

# %% [markdown]
# `session.commit()` ends the transaction. The INSERTs were already sent by the flush: predict
# what the commit sends.
#
# Expect: 1 COMMIT, 0 INSERT

# %% Commit
session.commit()

# %% [markdown] tags=["after"]
# Commit sends no INSERT at all: it only says COMMIT. The rows are permanent now, and the
# database panel shows them. The books are still persistent, but the object panel lists all their
# attributes as *expired*: after a commit the session forgets the values it had loaded, to read
# them fresh next time. Lesson 4 will explain why.

# %% [markdown]
# Finally we close the session. The books stay in memory: which state are they in now, and does
# closing send anything?
#
# Expect: no SQL
# Expect: state Book#1 detached
# Expect: state Book#2 detached

# %% Close the session
session.close()
print("detached?", inspect(lantern).detached, inspect(orbit).detached)

# %% [markdown] tags=["after"]
# Nothing is sent, and the books are no longer attached to any session: they are **detached**.
# Lesson 6 will show what that means for you.
