# %% [markdown]
# # One session per request
#
# A web API usually opens one session per request and closes it when the request is done. The
# framework turns what your endpoint returns into JSON **after** your code has finished. Every
# lesson so far comes together here: expiry, detached objects, lazy loading.
#
# Whether the session is still open at that moment depends on who closes it. In FastAPI, a
# dependency that yields a session (`with Session(engine) as session: yield session`) runs its
# code after `yield` only once the response has been built (or even sent), so the session is
# still open while `response_model` serializes your objects: lazy loads and expired attributes
# still work there. The traps in this lesson are real when the endpoint, or a helper function it
# calls, opens and closes **its own** session, as below: the objects it returns are detached.
#
# We simulate that without a server: each "endpoint" is a function that opens a session, does its
# work, and returns; the caller plays the framework and serializes the result afterwards. The
# `...Public` classes are response models: plain SQLModel classes (no table) that describe the
# JSON.
#
# Shows: 2 CREATE, 2 INSERT
#
# Further reading: "Session with FastAPI Dependency",
# https://sqlmodel.tiangolo.com/tutorial/fastapi/session-with-dependency/ and "Models with
# Relationships in FastAPI", https://sqlmodel.tiangolo.com/tutorial/fastapi/relationships/

# %% Setup
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import DetachedInstanceError
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


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


class AuthorPublic(SQLModel):
    id: int
    name: str


class BookPublic(SQLModel):
    id: int
    title: str
    year: int | None = None


class BookPublicWithAuthor(BookPublic):
    author: AuthorPublic | None = None


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Author).values(name="Ada Quill"))
    connection.execute(insert(Book).values(title="The Lantern Map", year=2019, author_id=1))

# %% [markdown]
# A request that reads a book: the session opens, loads the book, and closes before the function
# returns. Predict the SQL, and the state of the book we get back.
#
# Expect: 1 SELECT, 1 ROLLBACK
# Expect: state Book#1 detached

# %% A request that reads a book


def read_book(book_id: int) -> Book | None:
    with Session(engine) as session:
        return session.get(Book, book_id)


book = read_book(1)

# %% [markdown] tags=["after"]
# Closing the session sent the ROLLBACK. The book we got back is **detached**, but its columns
# were loaded.

# %% [markdown]
# The framework serializes the result with the response model: `BookPublic.model_validate(book)`
# reads the attributes it needs, like FastAPI does with `response_model=BookPublic`. Does it work,
# and does it send any SQL?
#
# Expect: no SQL
# Expect: state Book#1 detached

# %% Serialize it
print(BookPublic.model_validate(book).model_dump())

# %% [markdown] tags=["after"]
# The attributes were all loaded before the session closed: it works, with no SQL.

# %% [markdown]
# Now the author: `book.author`. What happens, and is any SQL sent?
#
# Expect: no SQL
# Expect: raises DetachedInstanceError

# %% Follow a relationship after the request tags=["raises-exception"]
try:
    print(book.author)
except DetachedInstanceError as error:
    print(f"{type(error).__name__}: see https://sqlalche.me/e/21/{error.code}")

# %% [markdown] tags=["after"]
# `book.author` was never loaded (relationships are lazy, lesson 18), and lazy loading needs a
# session. The book has none any more: `DetachedInstanceError`, with the words "lazy load
# operation of attribute 'author' cannot proceed", and no SQL.

# %% [markdown]
# A request that creates a book: add, commit, return. Predict the state of the returned object.
#
# Expect: 1 INSERT (flush), 1 COMMIT
# Expect: state Book#2 detached
# Expect: expired Book#2 id, title, year

# %% A request that creates a book


def create_book(title: str, year: int) -> Book:
    with Session(engine) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.commit()
        return new_book


created = create_book("Glass Rivers", 2024)

# %% [markdown] tags=["after"]
# Detached, and **expired**, since the commit emptied it just before the session closed
# (lesson 6).

# %% [markdown]
# Serialize it the quick way, with the table model's own `model_dump()`. Predict what it prints,
# and the SQL.
#
# Expect: no SQL
# Expect: prints '{}'

# %% Serialize the new book
print(created.model_dump())

# %% [markdown] tags=["after"]
# No error: `model_dump()` reads only what is loaded, which is nothing, and quietly returns an
# empty dictionary. An API would answer `{}`. A silent bug is worse than a loud one.

# %% [markdown]
# Now the response model, which reads each attribute. What happens?
#
# Expect: no SQL
# Expect: raises ValidationError

# %% Validate it with a response model tags=["raises-exception"]
try:
    print(BookPublic.model_validate(created))
except ValidationError as error:
    print("ValidationError, fields that could not be read:", [detail["loc"][0] for detail in error.errors()])

# %% [markdown] tags=["after"]
# The response model is loud instead: reading an expired attribute of a detached object raises
# `DetachedInstanceError`, and pydantic reports it for every field as a `ValidationError` (read
# the message of this step). No SQL is sent. In FastAPI the client would get an "Internal Server
# Error".

# %% [markdown]
# **Fix 1 (the most robust): build the response inside the session.** Converting to the response
# model while the session is open loads what it needs and returns a plain object that no session
# can break. Predict the SQL.
#
# Expect: 1 INSERT (flush), 1 COMMIT, 1 SELECT (load expired)

# %% Fix 1: return a response model


def create_book_public(title: str, year: int) -> BookPublic:
    with Session(engine) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.commit()
        return BookPublic.model_validate(new_book)


print(create_book_public("Paper Moons", 2023).model_dump())

# %% [markdown] tags=["after"]
# One SELECT loads the expired book while the session is still open.

# %% [markdown]
# **Fix 2: refresh before returning.** `session.refresh` reloads the columns while the session is
# still open, so the detached object that comes back is full. (Relationships are still not
# loaded.)
#
# Expect: 1 INSERT (flush), 1 COMMIT, 1 SELECT (refresh)

# %% Fix 2: refresh before returning


def create_book_refreshed(title: str, year: int) -> Book:
    with Session(engine) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.commit()
        session.refresh(new_book)
        return new_book


print(BookPublic.model_validate(create_book_refreshed("Tides of Ink", 2021)).model_dump())

# %% [markdown]
# **Fix 3: keep the values at commit.** With `expire_on_commit=False` nothing is emptied. (Fine
# here, since the request ends right after the commit; lesson 4 showed the risk of stale values in
# long-lived sessions.) Predict the SQL.
#
# Expect: 1 INSERT (flush), 1 COMMIT, 0 SELECT

# %% Fix 3: keep the values at commit tags=["exercise"] check="insert == 1; commit == 1; select == 0; raises nothing" task="Return the new book from the request so that the response can be built after the session is closed, without another SELECT." hint="With expire_on_commit=False the new book keeps its values after the commit, so serializing it needs no SELECT."


def create_book_kept(title: str, year: int) -> Book:
    with Session(engine, expire_on_commit=False) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.commit()
        return new_book


print(BookPublic.model_validate(create_book_kept("A Quiet Orbit", 2016)).model_dump())

# %% [markdown] tags=["after"]
# Not even a SELECT is needed: the flush already stored the new id.

# %% [markdown]
# **Fix 4, for relationships: load them eagerly.** A response that includes the author needs
# `book.author` loaded before the session closes, here with `joinedload` (lesson 18). Predict the
# SQL.
#
# Expect: 1 SELECT (query)

# %% Fix 4: eager loading for nested responses


def read_book_with_author(book_id: int) -> Book:
    with Session(engine) as session:
        query = select(Book).where(Book.id == book_id).options(joinedload(Book.author))
        return session.exec(query).one()


print(BookPublicWithAuthor.model_validate(read_book_with_author(1)).model_dump())

# %% [markdown] tags=["after"]
# `joinedload` fetches book and author in one statement, and the detached result serializes
# completely, nested author included.
