# Variants of the exercises of lessons/08_execute_exec_scalars.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% exec: objects role="starter"
books = session.execute(query).all()
print(type(books[0]).__name__, "->", [book.title for book in books])

# %% exec: objects role="wrong"
books = session.exec(query).first()
print(type(books).__name__, "->", books.title)

# %% exec: objects role="wrong"
books = session.execute(select(Book.title)).all()
print(type(books[0]).__name__, "->", [book.title for book in books])

# %% exec: objects role="alternative"
books = session.scalars(query).all()
print(type(books[0]).__name__, "->", [book.title for book in books])
