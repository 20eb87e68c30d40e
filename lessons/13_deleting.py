# %% [markdown]
# # Deleting: the deleted state
#
# `session.delete(obj)` does not delete anything right away. Like `add`, it only plans a change.
# The DELETE statement goes out at the next flush, the object passes through a state of its own,
# **deleted**, and after the commit it ends up **detached**.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: "Delete Data - DELETE", https://sqlmodel.tiangolo.com/tutorial/delete/

# %% Setup
from sqlalchemy import insert, inspect
from sqlmodel import Field, Session, SQLModel, create_engine, delete, select


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
                {"title": "The Lantern Map", "year": 2019},
                {"title": "A Quiet Orbit", "year": 2016},
                {"title": "Paper Moons", "year": 2023},
            ]
        )
    )
session = Session(engine)

# %% [markdown]
# To delete a row through the ORM, you need its object. Load it first.
#
# Expect: 1 SELECT

# %% Load the book to delete
orbit = session.get(Book, 2)

# %% [markdown]
# Mark it for deletion. Predict the state, and the SQL.
#
# Expect: no SQL
# Expect: state Book#1 persistent
# Expect: prints 'in session.deleted? True | persistent? True'

# %% Mark it
session.delete(orbit)
print("in session.deleted?", orbit in session.deleted, "| persistent?", inspect(orbit).persistent)

# %% [markdown] tags=["after"]
# Still **persistent**. The row exists and nothing was sent; the session only lists the object
# in `session.deleted` (see the session panel).

# %% [markdown]
# Now flush. Predict the SQL and the state of `orbit` afterwards. How many books does the database
# panel show then?
#
# Expect: 1 DELETE (flush)
# Expect: state Book#1 deleted
# Expect: rows book == 3

# %% Flush tags=["exercise"] check="delete == 1; flush == 1; state Book#1 deleted; prints 'deleted? True'" task="Send orbit's DELETE now, without committing, and print whether orbit is deleted." hint="session.delete() only marks the object; the flush sends the DELETE."
session.flush()
print("deleted?", inspect(orbit).deleted)

# %% [markdown] tags=["after"]
# The flush sends `DELETE FROM book WHERE book.id = ...` (with 2) and the object becomes
# **deleted**: its row is gone inside our transaction, but the transaction is not committed. (The
# database panel still shows three books, since others do not see uncommitted changes.)

# %% [markdown]
# Ask for id 2 again. Predict the SQL and the result.
#
# Expect: 1 SELECT
# Expect: prints 'book 2: None'

# %% Look for it again
print("book 2:", session.get(Book, 2))

# %% [markdown] tags=["after"]
# The object left the identity map. Asking for id 2 cannot be answered from memory any more, so
# `get` sends a SELECT, and the row is not there.

# %% [markdown]
# Commit. Predict the SQL, and the state of `orbit` afterwards.
#
# Expect: 0 DELETE, 1 COMMIT
# Expect: state Book#1 detached

# %% Commit
session.commit()
print("detached?", inspect(orbit).detached)

# %% [markdown] tags=["after"]
# The commit makes the deletion permanent; the DELETE itself went out with the flush. A deleted
# object then becomes **detached**: it belongs to no session and has no row.
#
# Notice that `orbit` was **not** expired by the commit: commit expires the objects in the
# identity map, and `orbit` left the identity map when the flush deleted its row. It had not left
# the *session*, though: a deleted object still belongs to its session until the commit, so that
# a rollback could make it persistent again (as lesson 15 will show).

# %% [markdown]
# Can we still read the values of `orbit`? Predict the SQL.
#
# Expect: no SQL
# Expect: state Book#1 detached
# Expect: prints 'deleted: A Quiet Orbit 2016'

# %% Read the deleted book
print("deleted:", orbit.title, orbit.year)

# %% [markdown] tags=["after"]
# Its values are still in memory (it is a perfectly normal Python object), and reading them sends
# no SQL. Handy for a "deleted ..." message.

# %% [markdown]
# Deleting something you only just added is a different thing: a pending object has no row yet.
# To take it back before it is flushed, use `session.expunge(obj)`. Predict its state afterwards,
# and the SQL.
#
# Expect: no SQL
# Expect: state Book#2 transient

# %% Take back an add
draft = Book(title="Glass Rivers", year=2024)
session.add(draft)
session.expunge(draft)
print("transient again?", inspect(draft).transient)

# %% [markdown] tags=["after"]
# It becomes transient again, without any SQL.

# %% [markdown]
# To delete rows without loading them first, run a DELETE statement through the session: one
# statement, however many rows match. What happens to objects that *are* loaded? To find out, we
# first load "The Lantern Map" (2019), which the statement below will match.
#
# Expect: 1 SELECT

# %% Load a book the statement will match
lantern = session.get(Book, 1)
print(lantern.title, lantern.year)

# %% [markdown]
# Now the statement `DELETE FROM book WHERE book.year < ?`. Predict the state of `lantern`
# afterwards. Then we commit, and list the titles that are left.
#
# Expect: 1 DELETE, 1 COMMIT, 1 SELECT
# Expect: state Book#3 detached
# Expect: rows book == 1

# %% Delete with a statement
result = session.exec(delete(Book).where(Book.year < 2020))
print("rows deleted:", result.rowcount, "| lantern deleted?", inspect(lantern).deleted)
session.commit()
print("lantern detached?", inspect(lantern).detached)
print("left:", session.exec(select(Book.title)).all())
session.close()

# %% [markdown] tags=["after"]
# By default (`synchronize_session="auto"`) the session evaluates the WHERE clause in Python
# against the objects it has loaded, and marks those that match as **deleted**, just as a flush
# would. Rows that were never loaded are deleted without any object. Lesson 14, next, will compare
# the other `synchronize_session` settings.
