# Variants of the exercises of lessons/15_rollback.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Roll back role="starter"
session.expunge_all()
print("lantern:", state(lantern), "| orbit:", state(orbit))
print("garden:", state(garden), "| moons:", state(moons))

# %% Roll back role="wrong"
session.commit()
print("lantern:", state(lantern), "| orbit:", state(orbit))
print("garden:", state(garden), "| moons:", state(moons))

# %% Roll back role="wrong"
session.close()
print("lantern:", state(lantern), "| orbit:", state(orbit))
print("garden:", state(garden), "| moons:", state(moons))

# %% Roll back role="alternative"
session.get_transaction().rollback()
print("lantern:", state(lantern), "| orbit:", state(orbit))
print("garden:", state(garden), "| moons:", state(moons))
