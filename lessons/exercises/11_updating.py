# Variants of the exercises of lessons/11_updating.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Commit the change role="starter"
session.flush()

# %% Commit the change role="wrong"
session.rollback()

# %% Commit the change role="wrong"
session.expire(lantern)
session.commit()

# %% Commit the change role="alternative"
session.flush()
session.commit()
