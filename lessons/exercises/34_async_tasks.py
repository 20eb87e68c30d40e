# Variants of the exercises of lessons/34_async_tasks.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Load the authors with the query role="starter"
async def books_with_authors() -> list[tuple[str, str]]:
    async with Factory() as session:
        books = (await session.exec(select(Book).order_by(Book.id))).all()
        return [(book.title, book.author.name) for book in books]


for title, name in run(books_with_authors()):
    print(title, "by", name)


# %% Load the authors with the query role="wrong"
async def books_with_authors() -> list[tuple[str, str]]:
    async with Factory() as session:
        books = (await session.exec(select(Book).order_by(Book.id))).all()
        pairs = []
        for book in books:
            author = await session.get(Author, book.author_id)
            pairs.append((book.title, author.name))
        return pairs


for title, name in run(books_with_authors()):
    print(title, "by", name)


# %% Load the authors with the query role="wrong"
async def books_with_authors() -> list[tuple[str, str]]:
    async with Factory() as session:
        query = select(Book).options(selectinload(Book.author)).order_by(Book.id)
        books = (await session.exec(query)).all()
        session.expire_all()
        return [(book.title, book.author.name) for book in books]


for title, name in run(books_with_authors()):
    print(title, "by", name)


# %% Load the authors with the query role="alternative"
async def books_with_authors() -> list[tuple[str, str]]:
    async with Factory() as session:
        authors = (await session.exec(select(Author).order_by(Author.id))).all()
        return [(book.title, author.name) for author in authors for book in author.books]


for title, name in run(books_with_authors()):
    print(title, "by", name)
