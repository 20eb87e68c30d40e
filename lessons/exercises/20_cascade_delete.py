# Variants of the exercises of lessons/20_cascade_delete.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Delete an author with foreign keys on role="starter"
with Session(strict_engine) as session:
    ben = session.get(Author, 2)
    session.delete(ben)

# %% Delete an author with foreign keys on role="wrong"
with Session(strict_engine) as session:
    ben = session.get(Author, 2)
    session.delete(ben.books[0])
    session.commit()

# %% Delete an author with foreign keys on role="wrong"
with Session(strict_engine) as session:
    ben = session.get(Author, 2)
    session.delete(ben)
    session.flush()
    session.rollback()

# %% Delete an author with foreign keys on role="alternative"
with Session(strict_engine) as session, session.begin():
    session.delete(session.get(Author, 2))
