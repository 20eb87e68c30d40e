# Variants of the exercises of lessons/09_get_and_identity_map.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Get book 1 again role="starter"
again = session.exec(select(Book).where(Book.id == 1)).one()
print("same object?", again is lantern)

# %% Get book 1 again role="wrong"
again = Book(id=1, title=lantern.title)
print("same object?", again is lantern)

# %% Get book 1 again role="wrong"
again = session.get(Book, 1, populate_existing=True)
print("same object?", again is lantern)

# %% Get book 1 again role="alternative"
again = session.get(Book, {"id": 1})
print("same object?", again is lantern)
