# %% [markdown]
# # Stale data: two sessions, one row
#
# Two sessions are like two librarians with their own notebooks (their identity maps). When one of
# them changes a row and commits, the other one's notebook still holds the old value, and a
# query does **not** fix that by itself. This lesson shows the trap, the ways to see fresh data
# (`populate_existing`, `refresh`/`expire`, ending the transaction), and why fresh data alone does
# not prevent a lost update, which needs an atomic UPDATE (last step) or a lock or version check
# (both will come in lesson 29).
#
# Two sessions need two real connections, so this lesson uses a file in a fresh temporary folder,
# removed at the end.
#
# > **SQLite note:** an in-memory `sqlite://` database lives inside one connection. SQLAlchemy
# > keeps one such connection per thread and hands it to every session of that thread, so two
# > sessions there would share one transaction (and another thread would see an empty database of
# > its own).
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Populate Existing",
# https://docs.sqlalchemy.org/en/20/orm/queryguide/api.html#populate-existing

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import insert, update
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


folder = Path(tempfile.mkdtemp())
engine = create_engine(f"sqlite:///{folder / 'library.db'}")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Book).values(title="The Lantern Map", year=2019, copies=3))

# %% [markdown]
# The front desk opens a session and loads the book: 3 copies.
#
# Expect: 1 SELECT

# %% The desk loads the book
desk = Session(engine)
desk_book = desk.get(Book, 1)
print("copies at the desk:", desk_book.copies)

# %% [markdown]
# Meanwhile the website, with its own session, lends one copy and commits. Predict the SQL, and
# whether the website works on the desk's object.
#
# Expect: 1 SELECT, 1 UPDATE (flush), 1 COMMIT
# Expect: prints 'same object? False'

# %% The website lends a copy
web = Session(engine)
web_book = web.get(Book, 1)
web_book.copies -= 1
web.commit()
print("same object?", web_book is desk_book)

# %% [markdown] tags=["after"]
# The website's session has its own identity map, so it builds its own object for the same row.
# The database now says 2 (see the database panel).

# %% [markdown]
# What does the desk's object say now, and does reading it send anything?
#
# Expect: no SQL
# Expect: prints 'copies at the desk: 3'

# %% The desk reads its object
print("copies at the desk:", desk_book.copies)

# %% [markdown] tags=["after"]
# It still says 3, and reading it sends nothing: the value is loaded, and the desk has no reason to
# doubt it. If the desk now lent a copy too, computing `desk_book.copies - 1` from its stale 3, it
# would write 2 and silently undo the website's loan: a **lost update**.

# %% [markdown]
# Surely a fresh query fixes it? Predict the printed value.
#
# Expect: 1 SELECT (query)
# Expect: object again == Book#1
# Expect: prints 'same object? True | copies at the desk: 3'

# %% The desk queries again
again = desk.exec(select(Book).where(Book.id == 1)).one()
print("same object?", again is desk_book, "| copies at the desk:", again.copies)

# %% [markdown] tags=["after"]
# The SELECT runs and the row it gets back says 2, but the session finds primary key 1 in its
# identity map and returns `desk_book` **unchanged**: a query never overwrites attributes that are
# already loaded. Inside a transaction, the session takes the values it holds to be current.

# %% [markdown]
# `execution_options(populate_existing=True)` tells the query to overwrite the loaded attributes
# with what it reads. Predict the SQL and the printed value.
#
# Expect: 1 SELECT (query)
# Expect: value Book#1.copies == 2

# %% Query with populate_existing tags=["exercise"] check="select == 1; value Book#1.copies == 2; prints 'copies at the desk: 2'" task="The web changed book 1 and committed. Make the desk see the copies the database has now, with one SELECT." hint="A plain query keeps the values already in the identity map; execution_options(populate_existing=True) overwrites them with the row's."
fresh = desk.exec(select(Book).where(Book.id == 1).execution_options(populate_existing=True)).one()
print("copies at the desk:", fresh.copies)

# %% [markdown] tags=["after"]
# Same SQL, different result: 2. It overwrites **everything** it loads. What happens to a change
# you made to `desk_book` and had not flushed yet depends on autoflush; a step below shows both
# cases.

# %% [markdown]
# The website lends another copy...
#
# Expect: 1 SELECT (load expired), 1 UPDATE (flush), 1 COMMIT

# %% The website lends another copy
web_book.copies -= 1
web.commit()

# %% [markdown]
# ...and this time the desk simply ends its transaction with `desk.commit()`, then reads its
# object. Predict the SQL and the value.
#
# Expect: 1 COMMIT, 1 SELECT (load expired)
# Expect: value Book#1.copies == 1

# %% The desk ends its transaction
desk.commit()
print("copies at the desk:", desk_book.copies)

# %% [markdown] tags=["after"]
# `desk.commit()` has nothing to write, but like every commit it expires the desk's objects
# (lesson 4), so the next read fetches the current value. `desk.refresh(desk_book)` or
# `desk.expire(desk_book)` would work too.
#
# > **SQLite note:** the desk never had a real SQLite transaction open. Python's `sqlite3` driver,
# > in its default "legacy" transaction control, sends `BEGIN` only before writing (lesson 16);
# > with `autocommit=False` (Python 3.12+) it follows PEP 249 and opens a transaction at once. A
# > database that keeps a snapshot for each reading transaction, like PostgreSQL with REPEATABLE
# > READ, would even show the old row to the queries above until the desk's transaction ended.

# %% [markdown]
# Back to `populate_existing` and a change you have not flushed. The desk sets `copies` to 99 and
# runs the same query twice: first inside `with desk.no_autoflush:`, then normally. Predict the two
# printed values and the SQL. (The desk then rolls back, so the 99 never stays.)
#
# Expect: 2 SELECT (query), 1 UPDATE (autoflush), 1 ROLLBACK
# Expect: prints 'under no_autoflush: 1'
# Expect: prints 'with autoflush: 99'

# %% Unflushed changes and populate_existing
same_query = select(Book).where(Book.id == 1).execution_options(populate_existing=True)
with desk.no_autoflush:
    desk_book.copies = 99
    desk.exec(same_query).one()
print("under no_autoflush:", desk_book.copies)
desk_book.copies = 99
desk.exec(same_query).one()
print("with autoflush:", desk_book.copies)
desk.rollback()

# %% [markdown] tags=["after"]
# Under `no_autoflush` the 99 is thrown away: the query overwrites it with the row's 1, as
# `refresh` would (lesson 3; `refresh` never autoflushes). With autoflush on, the default, the query
# first flushes the change (the UPDATE) and then reads it back, so the object keeps 99; the
# rollback undoes it in the database.

# %% [markdown]
# Fresh data is not yet safe data. `refresh`, `populate_existing` or a new transaction only
# shorten the time between reading and writing: if the website lends a copy after the desk reads
# 1 and before the desk writes `desk_book.copies - 1`, the desk still writes a number computed
# from a stale value, and one loan is lost. The real cures make the database do the arithmetic
# or check the row:
#
# - an **atomic UPDATE** that computes from the current row: `copies = copies - 1`, shown here;
# - a version counter (`version_id_col`) that makes a stale write fail, or on PostgreSQL and
#   MySQL a row lock with `select(...).with_for_update()`: both later, in lesson 29.
#
# Predict the SQL of this statement: which value does it subtract from?
#
# Expect: 1 UPDATE, 1 COMMIT
# Expect: row book id=1 copies == 0

# %% An atomic update
desk.exec(update(Book).where(Book.id == 1).values(copies=Book.copies - 1))
desk.commit()

# %% [markdown] tags=["after"]
# `UPDATE book SET copies=(book.copies - ?) WHERE book.id = ?`. Whatever another session committed
# in between, the database subtracts from the value it has now.

# %% [markdown]
# Tidy up: close both sessions and the engine, and remove the temporary folder.
#
# Expect: 0 statements

# %% Tidy up
desk.close()
web.close()
engine.dispose()
shutil.rmtree(folder)
