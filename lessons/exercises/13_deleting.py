# Variants of the exercises of lessons/13_deleting.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Flush role="starter"
print("deleted?", inspect(orbit).deleted)

# %% Flush role="wrong"
session.commit()
print("deleted?", inspect(orbit).deleted)

# %% Flush role="wrong"
session.rollback()
print("deleted?", inspect(orbit).deleted)

# %% Flush role="alternative"
session.flush()
is_deleted = inspect(orbit).deleted
print("deleted?", is_deleted)
