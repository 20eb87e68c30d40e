# Variants of the exercises of lessons/04_expire_on_commit.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Read a title after the commit role="starter"
print("title:", tides.__dict__.get("title"))

# %% Read a title after the commit role="wrong"
print("title:", moons.title)

# %% Read a title after the commit role="wrong"
session.refresh(tides)
print("title:", tides.title)

# %% Read a title after the commit role="alternative"
title = tides.title
print(f"title: {title}")
