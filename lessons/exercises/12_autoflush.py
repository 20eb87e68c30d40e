# Variants of the exercises of lessons/12_autoflush.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Query while a book is pending role="starter"
with session.no_autoflush:
    books = session.exec(select(Book).order_by(Book.id)).all()
print([book.title for book in books])

# %% Query while a book is pending role="wrong"
session.flush()
books = session.exec(select(Book).order_by(Book.id)).all()
print([book.title for book in books])

# %% Query while a book is pending role="wrong"
session.expunge(moons)
books = session.exec(select(Book).order_by(Book.id)).all()
print([book.title for book in books])

# %% Query while a book is pending role="alternative"
books = session.scalars(select(Book).order_by(Book.id)).all()
print([book.title for book in books])
