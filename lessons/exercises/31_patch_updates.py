# Variants of the exercises of lessons/31_patch_updates.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Two fields in one request role="starter"
book = patch_book(1, '{"title": "The Lantern Map (2nd ed.)"}')
print("title:", book.title, "| year:", book.year)

# %% Two fields in one request role="wrong"
book = patch_book(1, '{"title": "The Lantern Map (2nd ed.)"}')
book = patch_book(1, '{"year": 2024}')
print("title:", book.title, "| year:", book.year)

# %% Two fields in one request role="wrong"
with Session(engine) as session:
    book = session.get(Book, 1)
    book.sqlmodel_update(BookUpdate(title="The Lantern Map (2nd ed.)", year=2024).model_dump())
    session.commit()
    print("title:", book.title, "| year:", book.year)

# %% Two fields in one request role="alternative"
with Session(engine) as session:
    book = session.get(Book, 1)
    patch = BookUpdate.model_validate({"title": "The Lantern Map (2nd ed.)", "year": 2024})
    book.sqlmodel_update(patch.model_dump(exclude_unset=True))
    session.commit()
    print("title:", book.title, "| year:", book.year)
