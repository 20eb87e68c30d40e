# %% [markdown]
# # Async: one session per task, and relationships that never lazy-load
#
# In async code it is tempting to open one `AsyncSession` and hand it to several tasks that run
# at the same time with `asyncio.gather`. Don't: a session is one transaction on one connection,
# and the SQLAlchemy docs say an `AsyncSession` must not be used by concurrent tasks. Depending on
# timing, such code raises `IllegalStateChangeError` or "concurrent operations are not permitted",
# hangs, or mixes the tasks' work in one transaction. The fix is a session per task, from an
# `async_sessionmaker`. The other async trap, a lazy load that raises `MissingGreenlet`
# (lesson 26), is best prevented in the model: `lazy="selectin"` or `lazy="raise"`, set through
# `sa_relationship_kwargs`.
#
# The database is a file in a temporary folder, so that several connections see the same data.
#
# Expect: 2 CREATE, 3 INSERT
#
# Further reading: SQLAlchemy, "Using AsyncSession with Concurrent Tasks",
# https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#using-asyncsession-with-concurrent-tasks

# %% Setup
import asyncio
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload
from sqlmodel import Field, Relationship, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(
        back_populates="author", sa_relationship_kwargs={"lazy": "selectin", "order_by": "Book.id"}
    )


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int | None = Field(default=None, foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books", sa_relationship_kwargs={"lazy": "raise"})


folder = Path(tempfile.mkdtemp())
engine = create_async_engine(f"sqlite+aiosqlite:///{folder / 'library.db'}")
loop = asyncio.new_event_loop()
run = loop.run_until_complete


async def create_tables() -> None:
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
        await connection.execute(insert(Author).values(name="Ada Quill"))
        await connection.execute(insert(Book), [{"title": "The Lantern Map", "author_id": 1}])
        await connection.execute(insert(Book), [{"title": "A Quiet Orbit", "author_id": 1}])


run(create_tables())
Factory = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

# %% [markdown]
# Three tasks at once, each with its **own** session from the factory: `async with Factory() as
# session:`. (A semaphore lets one task at a time talk to the database, so that this page shows
# the statements in the same order on every run; with `Semaphore(3)` the three transactions
# overlap, each still in its own session.) Predict the SQL: how many SELECTs, and how many
# transactions?
#
# Expect: 3 BEGIN, 3 SELECT (get), 3 ROLLBACK


# %% A session per task
async def title_of(book_id: int, turn: asyncio.Semaphore) -> str:
    async with turn, Factory() as session:
        book = await session.get(Book, book_id)
        return book.title if book else "(none)"


async def three_requests() -> list[str]:
    turn = asyncio.Semaphore(1)
    return await asyncio.gather(title_of(1, turn), title_of(2, turn), title_of(3, turn))


print(run(three_requests()))

# %% [markdown] tags=["after"]
# Three sessions, three transactions, each on a connection borrowed from the pool for its
# length: a BEGIN, a SELECT and a ROLLBACK (as it closes) per task. Book 3 does not exist, so its task says
# "(none)". The factory carries the settings, here `expire_on_commit=False`, which async code
# usually wants (lesson 26).

# %% [markdown]
# `Author.books` has `lazy="selectin"`. Query the authors in a new session and read the books.
# Predict the SQL, and whether reading `books` in async code raises.
#
# Expect: 2 SELECT, 0 SELECT (lazy load)
# Expect: prints "[('Ada Quill', ['The Lantern Map', 'A Quiet Orbit'])]"


# %% lazy selectin
async def authors_and_books() -> list[tuple[str, list[str]]]:
    async with Factory() as session:
        authors = (await session.exec(select(Author))).all()
        return [(author.name, [book.title for book in author.books]) for author in authors]


print(run(authors_and_books()))

# %% [markdown] tags=["after"]
# The query sent both SELECTs, authors then `... WHERE book.author_id IN (...)`, inside its
# `await`. Reading `author.books` afterwards needs no SQL, so it cannot raise `MissingGreenlet`.
# With the default `lazy="select"` the same read would have been a lazy load outside any await.

# %% [markdown]
# `Book.author` has `lazy="raise"`. Read a book's author in async code. Predict the error.
#
# Expect: 1 SELECT (get), 0 SELECT (lazy load)


# %% lazy raise
async def author_of(book_id: int) -> str:
    async with Factory() as session:
        book = await session.get(Book, book_id)
        try:
            return book.author.name
        except InvalidRequestError as error:
            return f"InvalidRequestError: {error}"


print(run(author_of(1)))

# %% [markdown] tags=["after"]
# "'Book.author' is not available due to lazy='raise'": a plain error, raised before any SQL,
# instead of the puzzling `MissingGreenlet`. The cure is to load the author with the query
# (`options(selectinload(Book.author))`) or with `await session.refresh(book, ["author"])`.

# %% [markdown]
# Your turn: load both books' authors in one task, with `selectinload(Book.author)` in the
# query, so that `lazy="raise"` never fires.
#
# Expect: 2 SELECT, 0 SELECT (lazy load)


# %% Load the authors with the query tags=["exercise"] check="select == 2; lazy_load == 0; raises nothing; prints 'A Quiet Orbit by Ada Quill'" task="Print each book with its author's name in one task, loading the authors with the query so that lazy='raise' never fires." hint="Add options(selectinload(Book.author)) to the select: the loader option overrides lazy='raise' for that query."
async def books_with_authors() -> list[tuple[str, str]]:
    async with Factory() as session:
        query = select(Book).options(selectinload(Book.author)).order_by(Book.id)
        books = (await session.exec(query)).all()
        return [(book.title, book.author.name) for book in books]


for title, name in run(books_with_authors()):
    print(title, "by", name)

# %% [markdown] tags=["after"]
# Two SELECTs from the query, and the loop reads loaded authors. A loader option in the query wins
# over the relationship's `lazy` setting.

# %% [markdown]
# Tidy up: dispose of the engine, close the event loop, remove the folder.
#
# Expect: 0 statements

# %% Tidy up
run(engine.dispose())
loop.close()
shutil.rmtree(folder)
