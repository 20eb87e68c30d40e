# %% [markdown]
# # Pages of results: limit and offset
#
# A catalogue page shows a few books at a time. `.limit(n)` asks the database for at most `n`
# rows; `.offset(k)` skips the first `k`. Together they cut the result into pages, and the
# database does the cutting, so only one page travels to Python.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: "Read a Range of Data - LIMIT and OFFSET",
# https://sqlmodel.tiangolo.com/tutorial/limit-and-offset/

# %% Setup
from sqlalchemy import func, insert
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
                {"title": "The Clockwork Garden", "year": 2012},
                {"title": "A Quiet Orbit", "year": 2016},
                {"title": "The Lantern Map", "year": 2019},
                {"title": "Salt and Starlight", "year": 2020},
                {"title": "Tides of Ink", "year": 2021},
                {"title": "Paper Moons", "year": 2023},
                {"title": "Glass Rivers", "year": 2024},
            ]
        )
    )
session = Session(engine)
PAGE_SIZE = 3

# %% [markdown]
# Page 1: the first three books in title order. Predict the SQL: how does it ask for three rows
# only?
#
# A page needs a fixed order. Without `order_by`, the database may return rows in any order it
# likes, and the same row could show up on two pages or on none. The order must also be
# **unique**: two books with the same title could swap places between two queries. That is why
# we sort by `Book.title, Book.id`: the id breaks any tie.
#
# Expect: 1 SELECT (query)

# %% Page 1
page_1 = session.exec(select(Book).order_by(Book.title, Book.id).limit(PAGE_SIZE)).all()
print([book.title for book in page_1])

# %% [markdown] tags=["after"]
# Look at the end of the SQL: a `LIMIT` with the parameter 3.
#
# > **SQLite note:** on SQLite it reads `LIMIT ? OFFSET ?` with the parameters `[3, 0]`. The
# > `OFFSET 0` of a query without `.offset()` comes from SQLAlchemy's SQLite dialect, because
# > SQLite accepts no OFFSET without a LIMIT and the dialect always writes both. PostgreSQL and
# > MySQL render a plain `LIMIT` here.

# %% [markdown]
# Page 2 skips the three books of page 1. Predict the SQL and its parameters.
#
# Expect: 1 SELECT (query)

# %% Page 2
page_2 = session.exec(select(Book).order_by(Book.title, Book.id).offset(PAGE_SIZE).limit(PAGE_SIZE)).all()
print([book.title for book in page_2])

# %% [markdown] tags=["after"]
# Now `OFFSET` skips the three books of page 1. On SQLite it is the same SQL as page 1 with new
# parameters, `[3, 3]`; on PostgreSQL the `OFFSET` appears only now.

# %% [markdown]
# Seven books, three to a page: what does page 3 return?
#
# Expect: 1 SELECT (query)
# Expect: prints "['Tides of Ink']"

# %% Page 3
page_3 = session.exec(select(Book).order_by(Book.title, Book.id).offset(2 * PAGE_SIZE).limit(PAGE_SIZE)).all()
print([book.title for book in page_3])

# %% [markdown] tags=["after"]
# Seven books make two full pages and one book on page 3. The database simply returns fewer rows
# than the limit.

# %% [markdown]
# And past the end? Predict the SQL and the result.
#
# Expect: 1 SELECT (query)
# Expect: prints '[]'

# %% Page 4
print(session.exec(select(Book).order_by(Book.title, Book.id).offset(3 * PAGE_SIZE).limit(PAGE_SIZE)).all())

# %% [markdown] tags=["after"]
# Past the end, the query still runs and returns an empty list: no error.

# %% [markdown]
# In an application you write the paging once. This function takes a page number (starting at 1)
# and computes the offset. We define it and ask it for page 2 again: predict the SQL, and whether
# new objects appear.
#
# Expect: 1 SELECT (query)
# Expect: prints "['Salt and Starlight', 'The Clockwork Garden', 'The Lantern Map']"

# %% A page function


def titles_on_page(number: int) -> list[str]:
    query = select(Book).order_by(Book.title, Book.id).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return [book.title for book in session.exec(query).all()]


print(titles_on_page(2))

# %% [markdown] tags=["after"]
# Defining the function sent nothing; calling it ran one query. Page 2 again gives the same rows,
# and the same objects: the identity map (lesson 9) recognizes every row it already loaded, so no
# new objects appear.

# %% [markdown]
# To show "page 1 of 3" you need the number of rows. `func.count()` counts in the database and
# sends back one number instead of every row.
#
# Expect: 1 SELECT (query)

# %% Count the pages tags=["exercise"] check="select == 1; sql contains 'count('; prints '7 books, 3 pages'" task="Print how many books and pages of PAGE_SIZE there are, counting in the database with one SELECT." hint="Let the database count: select(func.count()) is one SELECT, however many rows there are."
total = session.exec(select(func.count()).select_from(Book)).one()
pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
print(total, "books,", pages, "pages")

# %% [markdown]
# The last word on `.first()` from lesson 7: it does not limit the query, so the database sends
# every matching row, and the ORM builds an object for each of them before it keeps the first. With
# `.limit(1)` the database stops after one row. Compare the SQL of this step with lesson 7's.
#
# Expect: 1 SELECT (query)

# %% The newest book, with a limit
newest = session.exec(select(Book).order_by(Book.year.desc()).limit(1)).first()
print("newest:", newest.title, newest.year)
session.close()
