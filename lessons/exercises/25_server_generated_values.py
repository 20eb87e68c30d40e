# Variants of the exercises of lessons/25_server_generated_values.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Flush role="starter"
print("shelf:", lantern.shelf, "| created_at:", lantern.created_at, "| updated_at:", lantern.updated_at)

# %% Flush role="wrong"
session.commit()
print("shelf:", lantern.shelf, "| created_at:", lantern.created_at, "| updated_at:", lantern.updated_at)

# %% Flush role="wrong"
session.flush()
session.refresh(lantern)
print("shelf:", lantern.shelf, "| created_at:", lantern.created_at, "| updated_at:", lantern.updated_at)

# %% Flush role="alternative"
session.flush()
session.flush()  # a second flush has nothing left to send
print("shelf:", lantern.shelf, "| created_at:", lantern.created_at, "| updated_at:", lantern.updated_at)
