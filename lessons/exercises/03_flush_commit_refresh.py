# Variants of the exercises of lessons/03_flush_commit_refresh.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Flush role="starter"
print("id after flush:", garden.id)

# %% Flush role="wrong"
session.commit()
print("id after flush:", garden.id)

# %% Flush role="wrong"
session.add(garden)
print("id after flush:", garden.id)

# %% Flush role="alternative"
session.flush()
book_id = garden.id
print("id after flush:", book_id)
