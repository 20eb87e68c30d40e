# Variants of the exercises of lessons/23_session_factories.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Add a book inside begin() role="starter"
with LibrarySession() as session:
    session.add(Book(title="A Quiet Orbit"))

# %% Add a book inside begin() role="wrong"
with LibrarySession() as session:
    session.add(Book(title="A Quiet Orbit"))
    session.flush()

# %% Add a book inside begin() role="wrong"
with LibrarySession.begin() as session:
    Book(title="A Quiet Orbit")

# %% Add a book inside begin() role="alternative"
with LibrarySession() as session:
    session.add(Book(title="A Quiet Orbit"))
    session.commit()
