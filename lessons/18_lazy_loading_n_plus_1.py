# %% [markdown]
# # Lazy loading and the N+1 problem
#
# A relationship attribute is loaded **lazily** by default: `author.books` sends its SELECT the
# first time you read it, not when the author is loaded. Convenient, and fine for one author. In a
# loop over N authors it sends N extra queries: 1 for the authors + N for their books, the
# famous **N+1 problem**. Eager loading options fix it: `selectinload` and `joinedload`.
#
# The setup creates three authors with two books each (with Core inserts, so no ORM objects yet),
# and a tiny event listener that counts the statements each approach sends.
#
# Shows: 2 CREATE, 2 INSERT
#
# Further reading: "Read Relationships",
# https://sqlmodel.tiangolo.com/tutorial/relationship-attributes/read-relationships/ and
# SQLAlchemy, "Relationship Loading Techniques",
# https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html

# %% Setup
from sqlalchemy import event, insert
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import joinedload, raiseload, selectinload
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(back_populates="author")


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int | None = Field(default=None, foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books")


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(
        insert(Author).values([{"name": "Ada Quill"}, {"name": "Ben Okafor"}, {"name": "Cora Lind"}])
    )
    connection.execute(
        insert(Book).values(
            [
                {"title": "The Lantern Map", "author_id": 1},
                {"title": "A Quiet Orbit", "author_id": 1},
                {"title": "Tides of Ink", "author_id": 2},
                {"title": "Paper Moons", "author_id": 2},
                {"title": "Salt and Starlight", "author_id": 3},
                {"title": "The Clockwork Garden", "author_id": 3},
            ]
        )
    )

statements: list[str] = []


@event.listens_for(engine, "before_cursor_execute")
def count_statement(_connection, _cursor, statement, _parameters, _context, _executemany):
    statements.append(statement)


counts: dict[str, int] = {}

# %% [markdown]
# Each author with their titles, the naive way. Predict the SQL before you step.
#
# Expect: 1 SELECT (query), 3 SELECT (lazy load)

# %% The naive loop
statements.clear()
with Session(engine) as session:
    authors = session.exec(select(Author).order_by(Author.id)).all()
    for author in authors:
        print(author.name, [book.title for book in author.books])
counts["lazy"] = len(statements)

# %% [markdown] tags=["after"]
# One SELECT for the authors, then, inside the loop, one SELECT per author when `author.books`
# is first read. Each of those says "lazy load Author.books" as its cause.
#
# Four statements for three authors. With 500 authors it would be 501, each a round trip to the
# database. It does not show in a tiny example, and then it makes a real page slow. (The `with`
# block closed the session at the end, so the objects panel lists the authors and books as
# detached.)
#
# The order of the books *inside* `author.books` is whatever order the database sent them in: the
# lazy load has no `ORDER BY`, so that order is not defined. `order_by` on the relationship
# (`sa_relationship_kwargs={"order_by": ...}`) fixes it.

# %% [markdown]
# The other direction is lazy too: `book.author`. Six books: predict the count of lazy loads.
#
# Expect: 1 SELECT (query), 3 SELECT (lazy load)

# %% The naive loop, from the books
statements.clear()
with Session(engine) as session:
    books = session.exec(select(Book).order_by(Book.id)).all()
    for book in books:
        print(book.title, "by", book.author.name)
counts["lazy, from books"] = len(statements)

# %% [markdown] tags=["after"]
# Only three lazy loads. Once an author is in the identity map, the next book by that author
# finds her there (lesson 9) without any SQL.

# %% [markdown]
# **`selectinload`** tells the query to load the books of *all* the authors it returns, right
# away. Predict how many statements the same loop sends now.
#
# Expect: 2 SELECT
# Expect: sql contains 'IN ('

# %% selectinload tags=["exercise"] check="select <= 2; select >= 1; lazy_load == 0; sql contains 'FROM author'; loaded Author#7 books; loaded Author#9 books" task="Make this loop print every author's books with at most two SELECTs: no lazy load per author." hint="Load every author's books up front with options(selectinload(Author.books)): one more SELECT for all of them, instead of one per author."
statements.clear()
with Session(engine) as session:
    query = select(Author).options(selectinload(Author.books)).order_by(Author.id)
    authors = session.exec(query).all()
    for author in authors:
        print(author.name, [book.title for book in author.books])
counts["selectinload"] = len(statements)

# %% [markdown] tags=["after"]
# One extra SELECT: `... WHERE book.author_id IN (?, ?, ?)`. Two statements here; the count grows
# only slowly with the number of authors, since the IN list holds up to 500 of them and every
# further 500 authors add one more SELECT. The loop then reads `author.books` without any SQL.

# %% [markdown]
# **`joinedload`** loads the books by joining the two tables. Predict the number of statements.
# And why does the code call `.unique()` before `.all()`?
#
# Expect: 1 SELECT
# Expect: sql contains 'LEFT OUTER JOIN book'

# %% joinedload
statements.clear()
with Session(engine) as session:
    query = select(Author).options(joinedload(Author.books)).order_by(Author.id)
    authors = session.exec(query).unique().all()
    for author in authors:
        print(author.name, [book.title for book in author.books])
counts["joinedload"] = len(statements)

# %% [markdown] tags=["after"]
# Everything comes in a single statement with a `LEFT OUTER JOIN`. The join repeats each author
# once per book, so the result must be de-duplicated: for a collection like `books`, SQLAlchemy
# insists on `.unique()` before `.all()`.

# %% [markdown]
# Side by side. Rule of thumb: `selectinload` for collections (one-to-many, many-to-many),
# `joinedload` for single objects (many-to-one, like `Book.author`), where the join does not
# repeat rows.
#
# Expect: no SQL

# %% Compare the counts
print("statements sent, by approach:")
for strategy, count in counts.items():
    print(f"{strategy:>17}: {count}")

# %% [markdown]
# To make sure an N+1 never sneaks back in, forbid lazy loading where you expect eager loading:
# `raiseload(Author.books)` makes any lazy load of that attribute an error, instead of a silent
# extra query. Predict the SQL of this step.
#
# Expect: 1 SELECT (query), 0 SELECT (lazy load)

# %% Forbid lazy loads tags=["raises-exception"]
with Session(engine) as session:
    first_author = session.exec(select(Author).options(raiseload(Author.books))).first()
    try:
        print(first_author.books)
    except InvalidRequestError as error:
        print("InvalidRequestError:", error)

# %% [markdown] tags=["after"]
# The query itself runs; reading `books` raises, and no lazy load is sent.
