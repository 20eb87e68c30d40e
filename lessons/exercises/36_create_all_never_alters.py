# Variants of the exercises of lessons/36_create_all_never_alters.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Insert again role="starter"
SQLModel.metadata.create_all(engine)
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% Insert again role="wrong"
session.add(Book(title="A Quiet Orbit", year=2016, copies=2))
session.flush()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% Insert again role="wrong"
session.add(Book(title="A Quiet Orbit", year=2016, copies=2))
session.rollback()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% Insert again role="alternative"
with Session(engine) as other:
    other.add(Book(title="A Quiet Orbit", year=2016, copies=2))
    other.commit()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()
