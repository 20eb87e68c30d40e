# %% [markdown]
# # Flush, commit and refresh
#
# Three session methods that beginners mix up:
#
# - `flush()` **sends** your pending changes to the database, inside the current transaction;
# - `commit()` flushes whatever is left, then makes the transaction **permanent**;
# - `refresh(obj)` **reads** an object's row again and overwrites its attributes.
#
# Keep an eye on the database panel in this lesson: it shows the committed rows, as any other
# connection to the database would see them.
#
# Shows: 1 CREATE
#
# Further reading: "Automatic IDs, None Defaults, and Refreshing Data",
# https://sqlmodel.tiangolo.com/tutorial/automatic-id-none-refresh/

# %% Setup
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown]
# We add one book. Predict its state, and the SQL.
#
# Expect: no SQL
# Expect: state Book#1 pending

# %% Add a book
garden = Book(title="The Clockwork Garden", year=2012)
session.add(garden)

# %% [markdown] tags=["after"]
# It is pending: nothing is sent yet.

# %% [markdown]
# Now flush. Predict the SQL, then look at the database panel after this step: does everybody
# else see the new row?
#
# Expect: 1 INSERT (flush), 1 BEGIN

# %% Flush tags=["exercise"] check="insert == 1; flush == 1; commit == 0; state Book#1 persistent; prints 'id after flush: 1'" task="Make the database give garden its id now, without committing, and print the id." hint="flush() sends the INSERT inside the open transaction and gives the book its id; only commit() ends the transaction."
session.flush()
print("id after flush:", garden.id)

# %% [markdown] tags=["after"]
# The INSERT went to the database and the book got its id... but the table in the database panel
# is still empty for everybody else. The INSERT happened inside a transaction that is not
# committed, and uncommitted rows are invisible to other connections.

# %% [markdown]
# Does our own session see the row? A query will tell: predict what it sends.
#
# Expect: 1 SELECT (query), 0 INSERT
# Expect: prints "the session sees: ['The Clockwork Garden']"
# Expect: rows book == 0

# %% Query inside the transaction
found = session.exec(select(Book)).all()
print("the session sees:", [book.title for book in found])

# %% [markdown] tags=["after"]
# One SELECT, and our own session *does* see the row: it is inside that same transaction. The
# query returns it (and returns the very same Python object, as lesson 9 will explain).

# %% [markdown]
# Commit. Predict: is there another INSERT?
#
# Expect: 0 INSERT, 1 COMMIT

# %% Commit
session.commit()

# %% [markdown] tags=["after"]
# No: the INSERT was already sent by the flush, and commit only flushes what is still pending
# (nothing here). It sends COMMIT, and now the database panel shows the row.

# %% [markdown]
# After the commit the book's attributes are expired (lesson 4 will give the details). `refresh`
# loads them right away, instead of waiting for the first attribute access. Predict the SQL: how
# many statements, and does a transaction begin?
#
# Expect: 1 SELECT (refresh), 1 BEGIN

# %% Refresh after commit
session.refresh(garden)
print("refreshed:", garden.title, garden.year, garden.copies)

# %% [markdown] tags=["after"]
# `refresh` marks every attribute as expired, then loads them all back with one SELECT by primary
# key. The commit ended the old transaction, so that SELECT starts a new one.

# %% [markdown]
# Refresh matters when the row changed **behind the ORM's back**: a database trigger, another
# program, or plain SQL like this UPDATE. Does the object see the new value, and does printing it
# send a SELECT?
#
# Expect: 1 UPDATE, 0 SELECT
# Expect: value Book#1.copies == 1
# Expect: prints 'copies in Python: 1'

# %% Change the row with plain SQL
session.connection().exec_driver_sql("UPDATE book SET copies = 3 WHERE id = 1")
print("copies in Python:", garden.copies)

# %% [markdown] tags=["after"]
# No: the session did not see the UPDATE happen, so the object keeps its old value and printing
# it sends no SELECT.

# %% [markdown]
# Now `refresh` again. Predict the SQL and the number of copies it prints.
#
# Expect: 1 SELECT (refresh)
# Expect: prints 'copies after refresh: 3'

# %% Refresh to see the change
session.refresh(garden)
print("copies after refresh:", garden.copies)

# %% [markdown] tags=["after"]
# `refresh` asked the database again with one SELECT and overwrote every column attribute with
# what it found: 3 copies.

# %% [markdown]
# Here we change the title, then refresh before any flush. Predict the SQL and the title that
# gets printed.
#
# Expect: 1 SELECT (refresh), 0 UPDATE

# %% Refresh after an unflushed change
garden.title = "The Clockwork Gardne"
session.refresh(garden)
print("title after refresh:", garden.title)

# %% [markdown] tags=["after"]
# Careful: refresh overwrites *your* changes too, if they were not flushed. The change is gone,
# and no UPDATE is ever sent.

# %% [markdown]
# Finally we commit the plain-SQL UPDATE (it was part of our open transaction) and close.
#
# Expect: 1 COMMIT

# %% Commit and close
session.commit()
session.close()
