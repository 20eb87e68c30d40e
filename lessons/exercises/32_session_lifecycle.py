# Variants of the exercises of lessons/32_session_lifecycle.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% List the titles role="starter"
session = Session(engine)
print("titles:", ", ".join(session.exec(select(Book.title).order_by(Book.id)).all()))

# %% List the titles role="wrong"
session = Session(engine)
session.begin()
print("titles:", ", ".join(session.exec(select(Book.title).order_by(Book.id)).all()))

# %% List the titles role="wrong"
with Session(engine) as session:
    print("titles:", ", ".join(session.exec(select(Book.title).order_by(Book.id)).all()))

# %% List the titles role="alternative"
with Session(engine) as session:
    with session.begin():
        titles = session.exec(select(Book.title).order_by(Book.id)).all()
print("titles:", ", ".join(titles))
