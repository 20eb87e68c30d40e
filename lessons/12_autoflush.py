# %% [markdown]
# # Autoflush: the INSERT you did not ask for
#
# Before the session runs a query, it **flushes** your pending changes, so that the query sees
# them. That is *autoflush*. It is why an INSERT or UPDATE sometimes shows up at a line that only
# reads, and why an error in a new object can surface in a query far from where you made it.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Flushing",
# https://docs.sqlalchemy.org/en/20/orm/session_basics.html#flushing

# %% Setup
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
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

# %% [markdown]
# A new book, added to the session. Remember lesson 2: predict its state and the SQL.
#
# Expect: no SQL
# Expect: state Book#1 pending

# %% Add a book
moons = Book(title="Paper Moons", year=2023)
session.add(moons)

# %% [markdown] tags=["after"]
# Pending, and no SQL, as in lesson 2.

# %% [markdown]
# Now we only *read*: all books, ordered by id. Predict the SQL.
#
# Expect: 1 INSERT (autoflush), 1 SELECT (query)
# Expect: line insert == 'books = session.exec(select(Book).order_by(Book.id)).all()'

# %% Query while a book is pending tags=["exercise"] check="autoflush == 1; insert == 1; select == 1; state Book#1 persistent" task="List every book's title in id order while moons is still pending." hint="A query autoflushes pending objects first, so that the SELECT can see them."
books = session.exec(select(Book).order_by(Book.id)).all()
print([book.title for book in books])

# %% [markdown] tags=["after"]
# The session flushes first, so you see an INSERT (its cause says "autoflush") and then the
# SELECT. Thanks to that, the new book is part of the result.

# %% [markdown]
# And a change to a loaded book? We change the number of copies of one book, then ask for books
# with more than two copies. Predict the SQL, in order.
#
# Expect: 1 UPDATE (autoflush), 1 SELECT (query)
# Expect: prints "['The Lantern Map']"
# Expect: line update == 'popular = session.exec(select(Book).where(Book.copies > 2)).all()'

# %% Query while a book is dirty
books[0].copies = 5
popular = session.exec(select(Book).where(Book.copies > 2)).all()
print([book.title for book in popular])

# %% [markdown] tags=["after"]
# Changes are flushed the same way: the UPDATE goes first, so the answer is right.

# %% [markdown]
# Sometimes you want to query *without* flushing, for example to check the database before you
# finish building an object. `with session.no_autoflush:` switches autoflush off inside the
# block. Predict the SQL, and whether the query finds the new book.
#
# Expect: 0 INSERT, 1 SELECT (query)
# Expect: prints 'found: None | still pending? True'

# %% Query inside no_autoflush
garden = Book(title="The Clockwork Garden", year=2012)
with session.no_autoflush:
    session.add(garden)
    found = session.exec(select(Book).where(Book.title == "The Clockwork Garden")).first()
print("found:", found, "| still pending?", garden in session.new)

# %% [markdown] tags=["after"]
# The new book stays pending, and the query does not find it.

# %% [markdown]
# Commit. What happens to the book that stayed pending?
#
# Expect: 1 INSERT (flush), 1 COMMIT
# Expect: state Book#4 persistent

# %% Commit
session.commit()

# %% [markdown] tags=["after"]
# The pending book is not forgotten: the next flush or commit sends it. Here it is the commit.

# %% [markdown]
# The dark side of autoflush: problems show up at a distance. This book has no title, which the
# table does not allow (`title` is NOT NULL). Why does `Book(year=2024)` itself not complain?
# SQLModel **skips validation for table models** (`table=True`): the constructor just sets the
# attributes you pass, so a missing title stays missing. (A model without `table=True`, like the
# response models you will meet in lesson 24, would raise a `ValidationError` right here;
# `Book.model_validate` validates a table model on request.) `session.add` is happy too. Then comes
# a query: predict what it sends, and whether its SELECT runs.
#
# Expect: 1 INSERT (autoflush), 0 SELECT, 1 ROLLBACK
# Expect: raises IntegrityError
# Expect: state Book#5 transient

# %% Query while a book without a title is pending tags=["raises-exception"]
untitled = Book(year=2024)
session.add(untitled)
try:
    session.exec(select(Book).where(Book.year > 2020)).all()
except IntegrityError as error:
    print("IntegrityError:", error.orig)
    session.rollback()

# %% [markdown] tags=["after"]
# The error appears only when the *query* autoflushes: the INSERT fails, the SELECT is never sent,
# and the traceback points at the query, not at the book. Read the error message in full:
# SQLAlchemy says itself that it was "raised as a result of Query-invoked autoflush".
#
# When a flush fails, SQLAlchemy rolls the database transaction back at once (the ROLLBACK in this
# step). Look at when the objects changed: the other books were expired and the broken book became
# transient again **during that failed flush's own rollback**, on the line of the query, before the
# `except` block ran (lesson 15 will say more about rollback). The session then refuses to do
# anything else until you call `session.rollback()` yourself, as the cell did in its `except`
# block; that call ends the failed transaction and sends nothing more.

# %% [markdown]
# Now the same query again. Predict the SQL.
#
# Expect: 0 INSERT, 1 SELECT (query)

# %% Query again after the rollback
print([book.title for book in session.exec(select(Book).where(Book.year > 2020)).all()])
session.close()

# %% [markdown] tags=["after"]
# The query now works, with no INSERT: the broken book is transient again, no longer in the
# session.
