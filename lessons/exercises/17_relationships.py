# Variants of the exercises of lessons/17_relationships.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Commit role="starter"
session.flush()

# %% Commit role="wrong"
session.expunge(ada)
session.commit()

# %% Commit role="wrong"
session.rollback()

# %% Commit role="alternative"
session.flush()
session.commit()
