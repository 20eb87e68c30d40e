# Variants of the exercises of lessons/29_session_factories.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% begin() commits at the end role="starter"
with LibrarySession() as session:
    session.add(Book(title="A Quiet Orbit"))

# %% begin() commits at the end role="wrong"
with LibrarySession() as session:
    session.add(Book(title="A Quiet Orbit"))
    session.flush()

# %% begin() commits at the end role="wrong"
with LibrarySession.begin() as session:
    Book(title="A Quiet Orbit")

# %% begin() commits at the end role="alternative"
with LibrarySession() as session:
    session.add(Book(title="A Quiet Orbit"))
    session.commit()
