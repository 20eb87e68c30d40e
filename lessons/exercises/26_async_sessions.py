# Variants of the exercises of lessons/26_async_sessions.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Fix 4: selectinload role="starter"
async def authors_with_books() -> None:
    authors = (await session.exec(select(Author))).all()
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])


run(authors_with_books())


# %% Fix 4: selectinload role="wrong"
async def authors_with_books() -> None:
    authors = (await session.exec(select(Author))).all()
    for author in authors:
        print(author.name, "wrote", [book.title for book in await author.awaitable_attrs.books])


run(authors_with_books())


# %% Fix 4: selectinload role="wrong"
async def authors_with_books() -> None:
    authors = (await session.exec(select(Author).options(selectinload(Author.books)))).all()
    for author in authors:
        books = (await session.exec(select(Book).where(Book.author_id == author.id))).all()
        print(author.name, "wrote", [book.title for book in books])


run(authors_with_books())


# %% Fix 4: selectinload role="alternative"
from sqlalchemy.orm import joinedload


async def authors_with_books() -> None:
    authors = (await session.exec(select(Author).options(joinedload(Author.books)))).unique().all()
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])


run(authors_with_books())
