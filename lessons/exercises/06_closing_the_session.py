# Variants of the exercises of lessons/06_closing_the_session.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Fix 2: keep the values at commit role="starter"
moons = Book(title="Paper Moons", year=2023)
with Session(engine) as session:
    session.add(moons)
    session.commit()
print(moons.title, moons.year, moons.id)

# %% Fix 2: keep the values at commit role="wrong"
moons = Book(title="Paper Moons", year=2023)
with Session(engine) as session:
    session.add(moons)
    session.commit()
    session.refresh(moons)
print(moons.title, moons.year, moons.id)

# %% Fix 2: keep the values at commit role="wrong"
moons = Book(title="Paper Moons", year=2023)
with Session(engine, expire_on_commit=False) as session:
    session.add(moons)
print(moons.title, moons.year, moons.id)

# %% Fix 2: keep the values at commit role="alternative"
moons = Book(title="Paper Moons", year=2023)
with Session(engine) as session:
    session.add(moons)
    session.flush()
    kept = (moons.title, moons.year, moons.id)
    session.commit()
print(*kept)
