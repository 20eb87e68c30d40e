# Variants of the exercises of lessons/16_savepoints.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% A nested transaction, rolled back role="starter"
orbit = Book(title="A Quiet Orbit", year=2016)
session.add(orbit)
session.flush()

# %% A nested transaction, rolled back role="wrong"
nested = session.begin_nested()
orbit = Book(title="A Quiet Orbit", year=2016)
session.add(orbit)
session.flush()
nested.commit()

# %% A nested transaction, rolled back role="wrong"
orbit = Book(title="A Quiet Orbit", year=2016)
session.add(orbit)
session.flush()
session.rollback()

# %% A nested transaction, rolled back role="alternative"
savepoint = session.begin_nested()
orbit = Book(title="A Quiet Orbit", year=2016)
savepoint.session.add(orbit)
session.flush()
savepoint.rollback()
