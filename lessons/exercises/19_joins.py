# Variants of the exercises of lessons/19_joins.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% joinedload role="starter"
with Session(engine) as session:
    authors = session.exec(select(Author).order_by(Author.id)).all()
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])

# %% joinedload role="wrong"
with Session(engine) as session:
    authors = session.exec(select(Author).join(Author.books).order_by(Author.id)).unique().all()
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])

# %% joinedload role="wrong"
with Session(engine) as session:
    authors = (
        session.exec(select(Author).options(joinedload(Author.books)).limit(1).order_by(Author.id))
        .unique()
        .all()
    )
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])

# %% joinedload role="alternative"
from sqlalchemy.orm import selectinload

with Session(engine) as session:
    authors = session.exec(select(Author).options(selectinload(Author.books)).order_by(Author.id)).all()
    for author in authors:
        print(author.name, "wrote", [book.title for book in author.books])
