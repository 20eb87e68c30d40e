# Variants of the exercises of lessons/40_text_yield_per_load_only.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Titles with text() role="starter"
titles = session.execute(text("SELECT title FROM book WHERE year > :year ORDER BY id")).scalars()
print(", ".join(titles))
session.close()

# %% Titles with text() role="wrong"
titles = session.execute(text("SELECT title FROM book WHERE year > 2020")).scalars()
titles = session.execute(text("SELECT title FROM book WHERE year > :year ORDER BY id")).scalars()
print(", ".join(titles))
session.close()

# %% Titles with text() role="wrong"
titles = session.exec(select(Book.title).where(Book.year > 2020).order_by(Book.id)).all()
print(", ".join(titles))
session.execute(text("SELECT 1"))
session.close()

# %% Titles with text() role="wrong"
year = 2020
titles = session.execute(text(f"SELECT title FROM book WHERE year > {year} ORDER BY id")).scalars()
print(", ".join(titles))
session.close()

# %% Titles with text() role="alternative"
query = text("SELECT title FROM book WHERE year > :year ORDER BY id").bindparams(year=2020)
print(", ".join(session.execute(query).scalars()))
session.close()
