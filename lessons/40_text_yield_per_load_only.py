# %% [markdown]
# # Raw SQL with text(), big results with yield_per, fewer columns with load_only
#
# Three tools for when a plain `select(Book)` is not what you need. `text()` runs SQL you write
# yourself, with **bound parameters** for the values, never string formatting. `yield_per` reads
# a big result in batches instead of building every object at once. `load_only` fetches only the
# columns a page shows. This lesson shows the SQL of each, and the trap that comes with it.
#
# Expect: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Using Textual SQL",
# https://docs.sqlalchemy.org/en/20/tutorial/data_select.html#selecting-from-textual-statements,
# "Fetching Large Result Sets with Yield Per",
# https://docs.sqlalchemy.org/en/20/orm/queryguide/api.html#orm-queryguide-yield-per and
# "Column Loading Options", https://docs.sqlalchemy.org/en/20/orm/queryguide/columns.html

# %% Setup
from sqlalchemy import insert, text
from sqlalchemy.orm import load_only
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    summary: str = ""


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
rows = [
    {"title": f"Volume {number}", "year": 1995 + number, "summary": "A long text. " * 20}
    for number in range(1, 31)
]
session.execute(insert(Book), rows)
session.commit()

# %% [markdown]
# `text()` with a named parameter `:year`, and the value passed separately. Predict the SQL: where
# does 2022 appear?
#
# Expect: 1 SELECT (execute)

# %% text() with a bound parameter
query = text("SELECT title FROM book WHERE year > :year ORDER BY id")
print(session.execute(query, {"year": 2022}).scalars().all())

# %% [markdown] tags=["after"]
# The SQL says `WHERE year > ?` (on PostgreSQL `%(year)s`), and 2022 travels as a parameter
# beside it (the "parameters" of the statement). The database never reads the value as SQL.
# `session.execute` returns rows, as in lesson 8; `.scalars()` takes their first column.

# %% [markdown]
# Why not an f-string? A title typed into a search box: `x' OR '1'='1`. Compare an f-string with
# a bound parameter. Predict how many titles each finds.
#
# Expect: 2 SELECT (execute)
# Expect: prints 'f-string: 30 titles | bound parameter: 0 titles'

# %% An f-string versus a parameter
typed = "x' OR '1'='1"
unsafe = session.execute(text(f"SELECT title FROM book WHERE title = '{typed}'")).scalars().all()
safe = session.execute(text("SELECT title FROM book WHERE title = :title"), {"title": typed}).scalars().all()
print("f-string:", len(unsafe), "titles | bound parameter:", len(safe), "titles")

# %% [markdown] tags=["after"]
# The f-string pasted the text into the SQL, where its quote ended the string and `OR '1'='1'`
# became part of the condition: all 30 titles. This is **SQL injection**, and it can do worse than
# list titles. The bound parameter compared the title with the whole typed text: 0 titles.

# %% [markdown]
# `text()` can also fill ORM objects: `select(Book).from_statement(text(...))`. Predict what comes
# back, and the SQL.
#
# Expect: 1 SELECT (query)

# %% ORM objects from text()
query = select(Book).from_statement(text("SELECT * FROM book WHERE year = :year")).params(year=2000)
book = session.scalars(query).one()
print(book.title, book.year)

# %% [markdown] tags=["after"]
# A `Book` in the identity map, built from the columns the SQL returned (matched by name). The
# SQL is exactly your text, with its parameter. (`session.exec` would hand back rows for such a
# statement, so we ask for `scalars()`, lesson 8.)

# %% [markdown]
# A list page needs titles only, but `select(Book)` also fetches every `summary`. With
# `load_only(Book.title)`, predict the columns of the SELECT.
#
# Expect: 1 SELECT (query)

# %% load_only
session.expunge_all()
books = session.exec(select(Book).options(load_only(Book.title)).where(Book.year > 2022)).all()
print([book.title for book in books])

# %% [markdown] tags=["after"]
# `SELECT book.id, book.title`: the primary key (the identity map needs it) and the title. The
# other columns are not loaded (the object panel says so), so that the rows stay small.
# (`expunge_all` first emptied the identity map, lesson 27, so that these are new objects.)

# %% [markdown]
# The trap: read the `year` of each of those books. Predict the SQL.
#
# Expect: 3 SELECT

# %% A column load_only left out
print([book.year for book in books])

# %% [markdown] tags=["after"]
# One SELECT per book: each first read of a column that was not loaded fetches it, like a lazy
# load (lesson 18), and this loop is an N+1 in disguise. `load_only` is for columns you will not
# read; `load_only(Book.title, raiseload=True)` makes such a read an error instead.

# %% [markdown]
# A big result: `execution_options(yield_per=10)` fetches and builds the objects ten rows at a
# time, and `partitions()` hands them over batch by batch. Predict the number of SELECTs and the
# batch sizes.
#
# Expect: 1 SELECT (query)
# Expect: prints 'batch sizes: [10, 10, 10]'

# %% yield_per
session.expunge_all()
result = session.exec(select(Book).order_by(Book.id).execution_options(yield_per=10))
print("batch sizes:", [len(batch) for batch in result.partitions()])

# %% [markdown] tags=["after"]
# One SELECT, read in three batches of 10. Without `yield_per` the ORM builds every object of the
# result before you see the first; with it, only one batch is in memory at a time, provided you
# do not keep the objects (here each batch is dropped after `len`). Use it for exports and batch
# jobs over many rows.

# %% [markdown]
# Your turn: list the titles of the books after 2020 with `text()` and a bound parameter for the
# year, never an f-string.
#
# Expect: 1 SELECT (execute)

# %% Titles with text() tags=["exercise"] check="select == 1; sql contains 'year > ?'; prints 'Volume 26, Volume 27, Volume 28, Volume 29, Volume 30'" task="Print the titles of the books after 2020 with text() and a bound parameter for the year." hint="Write :year in the SQL text and pass the value beside it: session.execute(text(...), {'year': 2020})."
titles = session.execute(
    text("SELECT title FROM book WHERE year > :year ORDER BY id"), {"year": 2020}
).scalars()
print(", ".join(titles))
session.close()

# %% [markdown] tags=["after"]
# `WHERE year > ?` (or `%(year)s`) with 2020 as the parameter: the five newest volumes.
