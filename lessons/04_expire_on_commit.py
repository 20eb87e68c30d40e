# %% [markdown]
# # Expire on commit
#
# After `commit()`, your objects suddenly look empty, and the next attribute you read sends a
# SELECT. This lesson shows exactly when that happens, why the session does it, and how to turn it
# off.
#
# Shows: 1 CREATE
#
# Further reading: "Automatic IDs, None Defaults, and Refreshing Data",
# https://sqlmodel.tiangolo.com/tutorial/automatic-id-none-refresh/ and the SQLAlchemy docs on
# `Session.commit`, https://docs.sqlalchemy.org/en/20/orm/session_basics.html#committing

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlmodel import Field, Session, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


# Later a second session changes a row at the same time, so the database is a file: sessions on
# an in-memory database would share one connection, and so one transaction.
folder = Path(tempfile.mkdtemp())
engine = create_engine(f"sqlite:///{folder / 'library.db'}")
SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown]
# Add two books and commit. Predict the SQL, and what printing both books with `repr` shows right
# after the commit.
#
# Expect: 2 INSERT (flush), 1 COMMIT, 0 SELECT

# %% Add and commit
tides = Book(title="Tides of Ink", year=2021)
moons = Book(title="Paper Moons", year=2023, copies=4)
session.add(tides)
session.add(moons)
session.commit()
print("after commit:", repr(tides), repr(moons))

# %% [markdown] tags=["after"]
# The commit flushed first (the INSERTs), then committed. Right after the commit, every attribute
# of both books is **expired**: the session has emptied them. Printing the object with `repr`
# reads only what is loaded, so it shows an empty `Book()`.

# %% [markdown]
# Now read one attribute. The session notices the value is missing and loads it. Predict the
# SQL: what does the SELECT fetch, and does anything come before it?
#
# Expect: 1 SELECT (load expired), 1 BEGIN
# Expect: line select == 'print("title:", tides.title)'

# %% Read a title after the commit tags=["exercise"] check="select == 1; load_expired == 1; loaded Book#1 title; prints 'title: Tides of Ink'" task="Print the title of tides as the database has it now that the commit has expired it." hint="After a commit every attribute is expired: the first one you read loads the whole row with one SELECT."
print("title:", tides.title)

# %% [markdown] tags=["after"]
# A SELECT by primary key that fetches **all** the expired columns of this one book, not only
# the title. Because the commit ended the transaction, a new one begins first.

# %% [markdown]
# Now read the other attributes of `tides`. What do they cost?
#
# Expect: no SQL
# Expect: expired Book#2 copies, id, title, year

# %% Read more of the same book
print("year:", tides.year, "| copies:", tides.copies, "| id:", tides.id)

# %% [markdown] tags=["after"]
# Nothing: the first access loaded every column of `tides`.

# %% [markdown]
# And the other book, `moons`? Predict the SQL of its first access.
#
# Expect: 1 SELECT (load expired)
# Expect: value Book#2.copies == 4

# %% Read the other book
print("title:", moons.title)

# %% [markdown] tags=["after"]
# Expiry is per object: `moons` was still expired, so its first access sent its own SELECT. With a
# hundred objects you would see a hundred SELECTs, one the first time each object is touched.

# %% [markdown]
# **Why does the session do this?** Inside a transaction the session trusts the values it has
# loaded. Once the transaction is committed, that trust ends: other programs may have changed the
# rows, or will, and your next transaction would see their changes. Rather than guess, the session
# forgets the values, and the next read fetches the truth from a new transaction.
#
# If you know the data will not change under you (or you do not care), you can keep the values:
# create the session with `expire_on_commit=False`. Here we add and commit a book in such a
# session.
#
# Expect: 1 INSERT (flush), 1 COMMIT

# %% A session that keeps values
keeper = Session(engine, expire_on_commit=False)
lantern = Book(title="The Lantern Map", year=2019)
keeper.add(lantern)
keeper.commit()

# %% [markdown] tags=["after"]
# The object panel shows `lantern` still full of values after its commit.

# %% [markdown]
# Now read `lantern`'s title and id. Predict the SQL.
#
# Expect: no SQL

# %% Read after that commit
print("title:", lantern.title, "| id:", lantern.id)

# %% [markdown] tags=["after"]
# Reading them sends nothing: the values were kept. (The id is known too: the flush stored it.)

# %% [markdown]
# The price: those values can go stale. Another session changes the same row and commits...
#
# Expect: 1 SELECT, 1 UPDATE, 1 COMMIT

# %% Someone else changes the row
with Session(engine) as other:
    same_row = other.get(Book, lantern.id)
    same_row.copies = 7
    other.commit()

# %% [markdown]
# ...and what does `lantern` in the `keeper` session say now? Does reading it send any SQL?
#
# Expect: no SQL
# Expect: value Book#3.copies == 1

# %% Read the stale value
print("copies according to keeper:", lantern.copies)

# %% [markdown] tags=["after"]
# `lantern` still says 1 copy, with no SQL to check: `keeper` kept the values, so nothing tells it
# that the row changed.

# %% [markdown]
# Would the default `expire_on_commit=True` have saved us? `session` uses the default, and its
# commit expired `tides`, but we have read `tides.title` since. Another session now sets the
# copies of `tides` to 7, and we read them in `session`. Predict the value, and the SQL of the
# read.
#
# Expect: 1 SELECT (get), 1 UPDATE (flush), 1 COMMIT, 0 SELECT (load expired)
# Expect: value Book#1.copies == 1

# %% The same race with the default
with Session(engine) as other:
    other.get(Book, tides.id).copies = 7
    other.commit()
print("copies according to session:", tides.copies)

# %% [markdown] tags=["after"]
# Still 1, and no SQL from the read. Expiry only empties the object once, at the commit: the read
# of `tides.title` right after the commit reloaded **every** column, `copies` (then 1) included.
# From that moment `copies` is a plain loaded value, exactly as in `keeper`. Expiry protects you
# only when nothing reloads the object between the commit and the other write.

# %% [markdown]
# Now `session` commits again, *after* the other write, and then reads `copies`. Predict the SQL
# and the value.
#
# Expect: 1 COMMIT, 1 SELECT (load expired)
# Expect: value Book#1.copies == 7

# %% Commit, then read
session.commit()
print("copies according to session:", tides.copies)

# %% [markdown] tags=["after"]
# 7. This commit expired `tides` again, and the read loaded the row as it is now. That is the case
# expiry is made for: a commit, someone else's write, then your read. Lesson 22 will look at stale
# data in detail, and how to refresh on purpose.

# %% [markdown]
# Close both sessions and remove the database file. `session` has the transaction that its last
# read opened: how does closing end it?
#
# Expect: 0 SELECT, 1 ROLLBACK
# Expect: state Book#3 detached

# %% Close
keeper.close()
session.close()
engine.dispose()
shutil.rmtree(folder)

# %% [markdown] tags=["after"]
# With a ROLLBACK, which is harmless: there was nothing left to commit.
