# %% [markdown]
# # Joins: join(), joinedload() and contains_eager()
#
# Three things with "join" in their name do three different jobs. `join()` adds a JOIN to *your*
# query so that you can filter or select on a related table; it does not fill any relationship.
# `joinedload()` fills a relationship with a JOIN of its own that you cannot filter on.
# `contains_eager()` tells the ORM that *your* JOIN already holds the related rows, so it may fill
# the relationship from them. Each step below uses a fresh session, so that nothing is loaded
# beforehand (each one ends with a ROLLBACK when its `with` block closes).
#
# Shows: 2 CREATE, 2 INSERT
#
# Further reading: SQLAlchemy, "Joins",
# https://docs.sqlalchemy.org/en/20/orm/queryguide/select.html#joins and "Joined Eager Loading",
# https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html#joined-eager-loading

# %% Setup
from sqlalchemy import insert, inspect
from sqlalchemy.orm import contains_eager, joinedload
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, func, select


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(back_populates="author")


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    author_id: int | None = Field(default=None, foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books")


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(
        insert(Author).values([{"name": "Ada Quill"}, {"name": "Cora Vale"}, {"name": "Ben Ash"}])
    )
    connection.execute(
        insert(Book).values(
            [
                {"title": "The Lantern Map", "year": 2019, "author_id": 1},
                {"title": "Paper Moons", "year": 2023, "author_id": 1},
                {"title": "A Quiet Orbit", "year": 2016, "author_id": 2},
            ]
        )
    )

# %% [markdown]
# Filtering on a related table: the books of Ada. `join(Book.author)` adds
# `JOIN author ON author.id = book.author_id` (the ORM knows the ON clause from the
# relationship), and the WHERE can then name `Author.name`. Predict the SELECT list: whose columns
# does it fetch, and is `book.author` loaded afterwards?
#
# Expect: 1 SELECT, 1 ROLLBACK
# Expect: prints 'author loaded? False'

# %% join to filter
with Session(engine) as session:
    books = session.exec(select(Book).join(Book.author).where(Author.name == "Ada Quill")).all()
    print("Ada's books:", [book.title for book in books])
    print("author loaded?", "author" not in inspect(books[0]).unloaded)

# %% [markdown] tags=["after"]
# Only the book's columns: the join is there to filter, nothing more. So the author's row took
# part in the JOIN, yet `book.author` is not loaded (the last line).

# %% [markdown]
# The same query, then `book.author` for each of Ada's two books. Predict the lazy loads.
#
# Expect: 1 SELECT (lazy load), 1 ROLLBACK

# %% Read the relationship after a join
with Session(engine) as session:
    books = session.exec(select(Book).join(Book.author).where(Author.name == "Ada Quill")).all()
    print([f"{book.title} by {book.author.name}" for book in books])

# %% [markdown] tags=["after"]
# Reading `book.author` lazy-loads Ada: one SELECT. The second book finds her in the identity map,
# so it costs nothing (lesson 17).

# %% [markdown]
# Select **two** entities, `select(Book, Author)`, and each result row holds a book and its author
# (rows, not objects: lesson 8). Predict the SQL, and whether `book.author` is loaded.
#
# Expect: 1 SELECT, 1 ROLLBACK
# Expect: prints 'A Quiet Orbit | Cora Vale | book.author loaded? False'

# %% Select two entities
with Session(engine) as session:
    for book, author in session.exec(select(Book, Author).join(Book.author).order_by(Book.id)):
        print(book.title, "|", author.name, "| book.author loaded?", "author" not in inspect(book).unloaded)

# %% [markdown] tags=["after"]
# One SELECT with the columns of both tables. The authors are loaded into the session, but the
# books' `author` relationship is still marked unloaded: selecting an entity never fills another
# entity's relationship; only a loader option does (below).
#
# Unloaded costs nothing here, though: reading `book.author` now would send no SQL. For a
# many-to-one the lazy loader first looks up the key in `author_id` in the identity map, and this
# query has just put every author there (lesson 17). A one-to-many like `author.books` has no such
# shortcut.

# %% [markdown]
# Count the books of each author, once with `join()` and once with `outerjoin()`. Ben wrote
# nothing: predict the SQL, and whether Ben appears in each count.
#
# Expect: 2 SELECT, 1 ROLLBACK
# Expect: prints "outerjoin: [('Ada Quill', 2), ('Cora Vale', 1), ('Ben Ash', 0)]"

# %% Inner join and left outer join
with Session(engine) as session:
    per_author = select(Author.name, func.count(Book.id)).group_by(Author.id).order_by(Author.id)
    print("join:     ", session.exec(per_author.join(Book)).all())
    print("outerjoin:", session.exec(per_author.outerjoin(Book)).all())

# %% [markdown] tags=["after"]
# `join()` is an INNER JOIN: Ben, who wrote nothing, has no book row to join with and vanishes.
# `outerjoin()` sends a LEFT OUTER JOIN, which keeps every author, with NULLs for the missing
# book. Counting `Book.id` (not rows) gives Ben his 0.

# %% [markdown]
# `joinedload(Author.books)` is a loader option. Predict the SQL of the query, and what the loop
# over `author.books` sends.
#
# Expect: 1 SELECT, 0 SELECT (lazy load), 1 ROLLBACK

# %% joinedload tags=["exercise"] check="select <= 2; select >= 1; lazy_load == 0; sql contains 'FROM author'; loaded Author#4 books; loaded Author#6 books" task="Print every author with their books without a lazy load per author." hint="joinedload(Author.books) fetches the authors and their books in one SELECT."
with Session(engine) as session:
    authors = (
        session.exec(select(Author).options(joinedload(Author.books)).order_by(Author.id)).unique().all()
    )
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])

# %% [markdown] tags=["after"]
# `joinedload` adds its own `LEFT OUTER JOIN book AS book_1` and fills `author.books` from it. One
# SELECT, and the loop sends nothing. Two details: the join uses an alias (`book_1`) so that it
# never changes what your query returns, which also means a `.where(Book.year > 2020)` would not
# filter the loaded books (it would bring the un-aliased `book` table into the FROM clause
# instead); and a joined collection repeats each author once per book, so SQLAlchemy asks you for
# `.unique()`. The order of the books inside each `author.books` is not defined either, unless the
# query or the relationship has an `order_by` for them.

# %% [markdown]
# To filter on the related table **and** fill the relationship from the same JOIN, combine your
# own `join()` with `contains_eager(Book.author)`. Predict the SELECT list, and the cost of reading
# `book.author`.
#
# Expect: 1 SELECT, 0 SELECT (lazy load), 1 ROLLBACK
# Expect: prints 'The Lantern Map by Ada Quill'

# %% join with contains_eager
with Session(engine) as session:
    query = (
        select(Book).join(Book.author).where(Author.name == "Ada Quill").options(contains_eager(Book.author))
    )
    for book in session.exec(query):
        print(book.title, "by", book.author.name)

# %% [markdown] tags=["after"]
# The SELECT list now has the author's columns too, and `book.author` is filled from them: reading
# it sends nothing.
