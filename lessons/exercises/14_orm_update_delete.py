# Variants of the exercises of lessons/14_orm_update_delete.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% fetch: ask the database role="starter"
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% fetch: ask the database role="wrong"
session.exec(
    update(Book).where(Book.year > 2020).values(copies=5).execution_options(synchronize_session=False)
)
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% fetch: ask the database role="wrong"
moons.copies = 5
print({book.title: book.copies for book in (lantern, orbit, moons)})

# %% fetch: ask the database role="alternative"
session.exec(
    update(Book).where(Book.year > 2020).values(copies=5).execution_options(synchronize_session="evaluate")
)
print({book.title: book.copies for book in (lantern, orbit, moons)})
