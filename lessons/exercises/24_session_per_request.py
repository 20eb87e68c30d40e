# Variants of the exercises of lessons/24_session_per_request.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Fix 3: keep the values at commit role="starter"
def create_book_kept(title: str, year: int) -> Book:
    with Session(engine) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.commit()
        return new_book


print(BookPublic.model_validate(create_book_kept("A Quiet Orbit", 2016)).model_dump())


# %% Fix 3: keep the values at commit role="wrong"
def create_book_kept(title: str, year: int) -> Book:
    with Session(engine) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.commit()
        session.refresh(new_book)
        return new_book


print(BookPublic.model_validate(create_book_kept("A Quiet Orbit", 2016)).model_dump())


# %% Fix 3: keep the values at commit role="wrong"
def create_book_kept(title: str, year: int) -> Book:
    with Session(engine, expire_on_commit=False) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.flush()
        return new_book


print(BookPublic.model_validate(create_book_kept("A Quiet Orbit", 2016)).model_dump())


# %% Fix 3: keep the values at commit role="alternative"
def create_book_kept(title: str, year: int) -> BookPublic:
    with Session(engine) as session:
        new_book = Book(title=title, year=year, author_id=1)
        session.add(new_book)
        session.flush()
        public = BookPublic.model_validate(new_book)
        session.commit()
        return public


print(create_book_kept("A Quiet Orbit", 2016).model_dump())
