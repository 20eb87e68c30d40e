# Variants of the exercises of lessons/10_limit_and_offset.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Count the pages role="starter"
total = len(page_1) + len(page_2)
pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
print(total, "books,", pages, "pages")

# %% Count the pages role="wrong"
total = len(session.exec(select(Book)).all())
pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
print(total, "books,", pages, "pages")

# %% Count the pages role="wrong"
total = session.exec(select(func.count()).select_from(Book)).one()
pages = total // PAGE_SIZE
print(total, "books,", pages, "pages")

# %% Count the pages role="alternative"
total = session.exec(select(func.count(Book.id))).one()
pages = -(-total // PAGE_SIZE)
print(total, "books,", pages, "pages")
