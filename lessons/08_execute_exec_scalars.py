# %% [markdown]
# # execute(), exec() and scalars(): rows or objects?
#
# The same `select(Book)` can come back as a list of `Book` objects or as a list of *rows* that
# each hold a `Book`, depending on which method runs it. The SQL is identical every time; only the
# Python wrapping differs. Mixing them up gives the famous `AttributeError` on a row. This lesson
# runs one query several ways and prints what comes back.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: "Read Data - SELECT", https://sqlmodel.tiangolo.com/tutorial/select/ and
# SQLAlchemy, "Selecting ORM Entities and Columns",
# https://docs.sqlalchemy.org/en/20/tutorial/data_select.html#selecting-orm-entities-and-columns

# %% Setup
from sqlalchemy import insert
from sqlmodel import Field, Session, SQLModel, create_engine, func, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None


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
query = select(Book).order_by(Book.id)

# %% [markdown]
# SQLModel's `session.exec()` is made for `select()`. What does it hand you for `select(Book)`?
# Predict the SQL, and the type it prints.
#
# Expect: 1 SELECT
# Expect: object books[0] == Book#1

# %% exec: objects tags=["exercise"] check="select == 1; sql contains 'FROM book'; object books[0] == Book#1" task="Put the Book objects (not rows) that query selects into books, with one SELECT, and print their titles." hint="session.exec(select(Book)) gives Book objects: one SELECT, and .all() makes a list of them."
books = session.exec(query).all()
print(type(books[0]).__name__, "->", [book.title for book in books])

# %% [markdown] tags=["after"]
# When you select **one** thing (an entity or a column), `exec` hands you that thing directly.
# Here: three `Book` objects.

# %% [markdown]
# SQLAlchemy's `session.execute()` runs the same query. Predict the SQL, what comes back, and
# whether the books are the same objects as before.
#
# Expect: 1 SELECT
# Expect: prints 'the same object? True'

# %% execute: rows
rows = session.execute(query).all()
print(type(rows[0]).__name__, "of length", len(rows[0]), "| its fields:", rows[0]._fields)
print("the same object?", rows[0][0] is books[0])

# %% [markdown] tags=["after"]
# `execute()` always returns **rows**, even for one entity. Each row is a small named tuple, here
# with a single element, the book, in a field named `Book`. Same SELECT, different wrapping. (The
# objects are the same ones: the session keeps one object per row, its identity map, which
# lesson 9 will look at closely.) SQLModel's `Session`
# marks `execute` as deprecated for type checkers (your editor may strike it through), to steer
# you to `exec`; it still works, with no warning at run time.

# %% [markdown]
# Now the classic mistake: treating a row as the object, `rows[0].title`. What happens, and is any
# SQL sent?
#
# Expect: no SQL
# Expect: raises AttributeError

# %% Use a row like a book tags=["raises-exception"]
try:
    print(rows[0].title)
except AttributeError as error:
    print("AttributeError on a Row:", error)

# %% [markdown] tags=["after"]
# A row has one attribute per *selected item* (here one, named `Book`), not the book's columns, so
# `rows[0].title` raises an `AttributeError`. The query already ran, so this step sends no SQL.

# %% [markdown]
# Three ways out: take element 0 of each row (`rows[0][0]`, or `rows[0].Book`), call
# `.scalars()` on the result of `execute`, or use `session.scalars(query)`, which does the same in
# one call. `.scalars()` means "the first element of each row". Predict how many SELECTs the
# three lines send.
#
# Expect: 2 SELECT
# Expect: prints 'by name: The Lantern Map'

# %% scalars: the first element of each row
print("by name:", rows[0].Book.title)
print("execute().scalars():", [book.title for book in session.execute(query).scalars()])
print("session.scalars():", [book.title for book in session.scalars(query)])

# %% [markdown] tags=["after"]
# Two: element 0 of a row we already have costs nothing, and the last two lines run the query
# again.

# %% [markdown]
# Select **several** things. What does `exec` return now? And `session.scalars()` on the same
# query?
#
# Expect: 2 SELECT
# Expect: prints "A Quiet Orbit 2016 | as a tuple: ('A Quiet Orbit', 2016)"

# %% Several columns: rows
for row in session.exec(select(Book.title, Book.year).order_by(Book.year)):
    print(row.title, row.year, "| as a tuple:", tuple(row))
print("scalars():", session.scalars(select(Book.title, Book.year).order_by(Book.year)).all())

# %% [markdown] tags=["after"]
# Rows: with several things selected `exec` returns rows too, since there is no single "thing" to
# unwrap. The rows have one attribute per column, so `row.title` works here. `scalars()` is the
# exception, and a quiet one: it always keeps the first element of each row, so here it returns
# the titles alone and silently drops `year`.

# %% [markdown]
# One value: a count. `exec(...).one()` gives the number itself; with `execute` you ask for
# `.scalar_one()`: exactly one row, its first element, and an error if there are zero rows or
# several (like `.one()` in lesson 7). `session.scalar(...)` is the lenient cousin: the first
# element of the first row, or `None`.
#
# Expect: 3 SELECT

# %% One value
count = select(func.count()).select_from(Book)
print("exec().one():", session.exec(count).one())
print("execute().scalar_one():", session.execute(count).scalar_one())
print("scalar(), no match:", session.scalar(select(Book.title).where(Book.year > 2100)))
session.close()
