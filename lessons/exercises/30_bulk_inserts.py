# Variants of the exercises of lessons/30_bulk_inserts.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Bulk insert from dictionaries role="starter"
rows = [
    {"title": "Tides of Ink", "year": 2021},
    {"title": "Glass Rivers", "year": 2024},
    {"title": "Salt and Starlight", "year": 2020},
    {"title": "The Clockwork Garden", "year": 2012},
]
for row in rows:
    session.add(Book(**row))
session.flush()
print("objects in the identity map:", len(session.identity_map))

# %% Bulk insert from dictionaries role="wrong"
rows = [
    {"title": "Tides of Ink", "year": 2021},
    {"title": "Glass Rivers", "year": 2024},
    {"title": "Salt and Starlight", "year": 2020},
    {"title": "The Clockwork Garden", "year": 2012},
]
for row in rows:
    session.execute(insert(Book).values(**row))
print("objects in the identity map:", len(session.identity_map))

# %% Bulk insert from dictionaries role="wrong"
rows = [
    {"title": "Tides of Ink", "year": 2021},
    {"title": "Glass Rivers", "year": 2024},
    {"title": "Salt and Starlight", "year": 2020},
    {"title": "The Clockwork Garden", "year": 2012},
]
session.execute(insert(Book), rows[:2])
print("objects in the identity map:", len(session.identity_map))

# %% Bulk insert from dictionaries role="alternative"
rows = [
    {"title": "Tides of Ink", "year": 2021},
    {"title": "Glass Rivers", "year": 2024},
    {"title": "Salt and Starlight", "year": 2020},
    {"title": "The Clockwork Garden", "year": 2012},
]
session.execute(insert(Book).values(rows))
print("objects in the identity map:", len(session.identity_map))
