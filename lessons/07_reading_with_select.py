# %% [markdown]
# # Reading rows with select
#
# `select(Book)` builds a query; `session.exec(...)` runs it; `.all()`, `.first()` and `.one()`
# decide how many results you want and what happens when the count is not what you expected.
#
# The setup fills the table with a single multi-row INSERT through SQLAlchemy Core (no ORM objects
# involved), so the only objects you will see are the ones our queries load.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: "Read Data - SELECT", https://sqlmodel.tiangolo.com/tutorial/select/,
# "Filter Data - WHERE", https://sqlmodel.tiangolo.com/tutorial/where/ and "Read One Row",
# https://sqlmodel.tiangolo.com/tutorial/one/

# %% Setup
from sqlalchemy import insert
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
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
                {"title": "The Clockwork Garden", "year": 2012, "copies": 1},
                {"title": "A Quiet Orbit", "year": 2016, "copies": 2},
                {"title": "The Lantern Map", "year": 2019, "copies": 3},
                {"title": "Salt and Starlight", "year": 2020, "copies": 1},
                {"title": "Tides of Ink", "year": 2021, "copies": 2},
            ]
        )
    )
session = Session(engine)

# %% [markdown]
# The simplest query: every book. Predict the SQL, and what the object panel shows afterwards.
#
# Expect: 1 SELECT (query)

# %% All the books
books = session.exec(select(Book)).all()
print(len(books), "books:", [book.title for book in books])

# %% [markdown] tags=["after"]
# `.all()` returns a list of `Book` objects, one per row, and each one is loaded into the session:
# the object panel fills up.

# %% [markdown]
# Printing a query shows the SQL it *would* send, with placeholders like `:year_1` for the values.
# Does building it send anything?
#
# Expect: no SQL

# %% Build a query without running it
recent = select(Book).where(Book.year >= 2019).order_by(Book.year.desc())
print(recent)

# %% [markdown] tags=["after"]
# Nothing: a query is an ordinary Python object until you run it.

# %% [markdown]
# Run it. Predict the SQL, and whether new objects appear in the object panel.
#
# Expect: 1 SELECT (query)

# %% Run it
print([(book.year, book.title) for book in session.exec(recent).all()])

# %% [markdown] tags=["after"]
# `where` became `WHERE book.year >= ?` with 2019 as a parameter (the placeholder depends on the
# driver: `?` for SQLite, `%(year_1)s` for PostgreSQL's psycopg); `order_by` became
# `ORDER BY book.year DESC`. No new objects appear: these rows are already in the session, so
# the query hands back the objects it already has (lesson 9 will explain this identity map).

# %% [markdown]
# `.first()` gives the first row, or `None` when there is none. Look closely at the SQL: does it
# ask the database for one row only?
#
# Expect: 1 SELECT (query)

# %% The first match tags=["exercise"] check="select == 1; raises nothing; object first_the == Book#1; value Book#1.title == 'The Clockwork Garden'" task="Put into first_the the first book, in title order, whose title starts with 'The', using one SELECT, and print its title." hint="first() sends one SELECT and returns the first row, or None when nothing matches."
first_the = session.exec(select(Book).where(Book.title.startswith("The")).order_by(Book.title)).first()
print("first title starting with 'The':", first_the.title)

# %% [markdown] tags=["after"]
# There is no `LIMIT`. The database may send every matching row and SQLAlchemy throws away all but
# the first. On a big table, add `.limit(1)` yourself (lesson 10 will show how).

# %% [markdown]
# And when nothing matches?
#
# Expect: 1 SELECT (query)
# Expect: prints 'a book from 1999: None'

# %% No match with first
print("a book from 1999:", session.exec(select(Book).where(Book.year == 1999)).first())

# %% [markdown] tags=["after"]
# `.first()` quietly returns `None`.

# %% [markdown]
# `.one()` is stricter: it insists on **exactly one** row. Use it when anything else would be a
# bug, for example looking up a title that must be unique.
#
# Expect: 1 SELECT (query)

# %% Exactly one
orbit = session.exec(select(Book).where(Book.title == "A Quiet Orbit")).one()
print("found:", orbit.title, orbit.year)

# %% [markdown]
# What does `.one()` do when no row matches? Does the query still run? (The cell catches the error
# so that a plain `python` run goes on; sqlecho shows it as the step's error.)
#
# Expect: 1 SELECT (query)
# Expect: raises NoResultFound

# %% One, but no row tags=["raises-exception"]
try:
    session.exec(select(Book).where(Book.year == 1999)).one()
except NoResultFound as error:
    print("NoResultFound:", error)

# %% [markdown] tags=["after"]
# With no row at all, `.one()` raises `NoResultFound`. The query still ran: the error comes from
# counting the rows it got back.

# %% [markdown]
# And when several rows match?
#
# Expect: 1 SELECT (query)
# Expect: raises MultipleResultsFound

# %% One, but three rows tags=["raises-exception"]
try:
    session.exec(select(Book).where(Book.title.startswith("The") | (Book.year == 2020))).one()
except MultipleResultsFound as error:
    print("MultipleResultsFound:", error)

# %% [markdown] tags=["after"]
# With more than one row, `.one()` raises `MultipleResultsFound`, again after the query ran. (Use
# `.one_or_none()` when "no row" is fine but "several rows" is not.)

# %% [markdown]
# Finally, you do not always need whole objects: here we select two columns. Predict the SQL, and
# whether new objects appear. (The last line closes the session.)
#
# Expect: 1 SELECT (query)

# %% Only some columns
for title, year in session.exec(select(Book.title, Book.year).where(Book.copies > 1)).all():
    print(year, title)
session.close()

# %% [markdown] tags=["after"]
# Selecting columns returns plain rows (tuples), which are not tracked by the session: no new
# objects appear. Closing the session detached the five books it had loaded.
