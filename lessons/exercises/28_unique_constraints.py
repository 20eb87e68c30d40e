# Variants of the exercises of lessons/28_unique_constraints.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Get or create role="starter"
def get_or_create(name: str) -> Genre:
    genre = Genre(name=name)
    session.add(genre)
    session.flush()
    return genre


print([get_or_create(name).id for name in ["Poetry", "Mystery"]])


# %% Get or create role="wrong"
def get_or_create(name: str) -> Genre:
    genre = session.exec(select(Genre).where(Genre.name == name)).first()
    if genre is None:
        genre = Genre(name=name)
        session.add(genre)
    return genre


print([get_or_create(name).id for name in ["Poetry", "Mystery"]])


# %% Get or create role="wrong"
def get_or_create(name: str) -> Genre:
    genre = session.exec(select(Genre)).first()
    if genre is None:
        genre = Genre(name=name)
        session.add(genre)
        session.flush()
    return genre


print([get_or_create(name).id for name in ["Poetry", "Mystery"]])


# %% Get or create role="alternative"
def get_or_create(name: str) -> Genre:
    genre = session.exec(select(Genre).where(Genre.name == name)).one_or_none()
    if genre is None:
        genre = Genre(name=name)
        session.add(genre)
        session.flush()
    return genre


print([get_or_create(name).id for name in ["Poetry", "Mystery"]])
