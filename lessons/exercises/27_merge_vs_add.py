# Variants of the exercises of lessons/27_merge_vs_add.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Merge an API payload role="starter"
payload = Book(id=1, title="The Lantern Map", copies=5)
web.add(payload)
web.commit()

# %% Merge an API payload role="wrong"
payload = Book(id=1, title="The Lantern Map", copies=5)
merged = web.merge(payload)
print("merged is web_copy?", merged is web_copy, "| payload transient?", inspect(payload).transient)

# %% Merge an API payload role="wrong"
payload = Book(id=1, title="The Lantern Map", copies=5)
merged = web.merge(payload)
print("merged is web_copy?", merged is web_copy, "| payload transient?", inspect(payload).transient)
web.rollback()

# %% Merge an API payload role="alternative"
payload = Book(id=1, title="The Lantern Map", copies=5)
merged = web.merge(payload, load=True)
web.commit()
print("merged is web_copy?", merged is web_copy, "| payload transient?", inspect(payload).transient)
