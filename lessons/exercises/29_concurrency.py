# Variants of the exercises of lessons/29_concurrency.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% with_for_update role="starter"
book = desk.exec(select(Book).where(Book.id == 1)).one()
book.copies -= 1
desk.commit()

# %% with_for_update role="wrong"
book = desk.exec(select(Book).where(Book.id == 1).with_for_update()).one()
book.copies -= 1
desk.flush()

# %% with_for_update role="wrong"
book = desk.get(Book, 1)
book.copies -= 1
desk.commit()

# %% with_for_update role="alternative"
book = desk.exec(select(Book).filter_by(id=1).with_for_update()).one()
book.copies = book.copies - 1
desk.commit()
