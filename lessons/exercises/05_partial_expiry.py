# Variants of the exercises of lessons/05_partial_expiry.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Read the expired attribute role="starter"
print("copies:", lantern.__dict__.get("copies"))

# %% Read the expired attribute role="wrong"
print("copies:", lantern.title)

# %% Read the expired attribute role="wrong"
session.refresh(lantern)
print("copies:", lantern.copies)

# %% Read the expired attribute role="alternative"
copies = lantern.copies
print(f"copies: {copies}")
