# Variants of the exercises of lessons/18_lazy_loading_n_plus_1.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% selectinload role="starter"
statements.clear()
with Session(engine) as session:
    query = select(Author).order_by(Author.id)
    authors = session.exec(query).all()
    for author in authors:
        print(author.name, [book.title for book in author.books])
counts["selectinload"] = len(statements)

# %% selectinload role="wrong"
statements.clear()
with Session(engine) as session:
    session.exec(select(Book)).all()
    authors = session.exec(select(Author).order_by(Author.id)).all()
    for author in authors:
        print(author.name, [book.title for book in author.books])
counts["selectinload"] = len(statements)

# %% selectinload role="wrong"
statements.clear()
with Session(engine) as session:
    query = select(Author).options(selectinload(Author.books)).order_by(Author.id)
    authors = session.exec(query).all()
    session.expire_all()
    for author in authors:
        print(author.name, [book.title for book in author.books])
counts["selectinload"] = len(statements)

# %% selectinload role="alternative"
statements.clear()
with Session(engine) as session:
    query = select(Author).options(joinedload(Author.books)).order_by(Author.id)
    authors = session.exec(query).unique().all()
    for author in authors:
        print(author.name, [book.title for book in author.books])
counts["selectinload"] = len(statements)
