# Variants of the exercises of lessons/38_delete_orphan.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Remove a book role="starter"
orbit = ada.books[0]
print("books:", session.exec(select(Book.title)).all())

# %% Remove a book role="wrong"
orbit = ada.books[0]
orbit.author = cora
session.commit()
print("books:", session.exec(select(Book.title)).all())

# %% Remove a book role="wrong"
orbit = ada.books[0]
ada.books.remove(orbit)
session.flush()
print("books:", session.exec(select(Book.title)).all())

# %% Remove a book role="alternative"
orbit = ada.books[0]
session.delete(orbit)
session.commit()
print("books:", session.exec(select(Book.title)).all())
