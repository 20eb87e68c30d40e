# Variants of the exercises of lessons/22_stale_data.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Query with populate_existing role="starter"
fresh = desk.exec(select(Book).where(Book.id == 1)).one()
print("copies at the desk:", fresh.copies)

# %% Query with populate_existing role="wrong"
fresh = desk_book
print("copies at the desk:", fresh.copies)

# %% Query with populate_existing role="wrong"
fresh = desk.get(Book, 1)
print("copies at the desk:", fresh.copies)

# %% Query with populate_existing role="alternative"
fresh = desk.get(Book, 1, populate_existing=True)
print("copies at the desk:", fresh.copies)
