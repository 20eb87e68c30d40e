# Variants of the exercises of lessons/07_reading_with_select.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% The first match role="starter"
first_the = books[0]
print("first title starting with 'The':", first_the.title)

# %% The first match role="wrong"
first_the = session.exec(select(Book).where(Book.title.startswith("The")).order_by(Book.title.desc())).first()
print("first title starting with 'The':", first_the.title)

# %% The first match role="wrong"
first_the = session.exec(select(Book).order_by(Book.title)).first()
print("first title starting with 'The':", first_the.title)

# %% The first match role="alternative"
first_the = session.exec(select(Book).where(Book.title.like("The%")).order_by(Book.title).limit(1)).one()
print("first title starting with 'The':", first_the.title)
