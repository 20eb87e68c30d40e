# %% [markdown]
# # PATCH: update only the fields the client sent
#
# A web API's PATCH request carries *some* fields of a row: `{"copies": 5}` means "change the
# copies, leave the rest alone". The SQLModel tutorial's pattern for it has three parts: a model
# with every field optional (`BookUpdate`), `model_dump(exclude_unset=True)` to keep only the
# fields the JSON contained, and `sqlmodel_update` to copy them onto the row you loaded with
# `get`. This lesson shows what goes wrong without each part, and what SQL each request sends.
# (Lesson 27 showed why `merge` is no substitute: it copies the defaults of the fields the
# payload did not carry.)
#
# `patch_book` below is the body of a PATCH endpoint, without the web framework: it takes the
# request's JSON, opens a session, and returns the updated book.
#
# Expect: 1 CREATE, 1 INSERT
#
# Further reading: "Update Data with FastAPI",
# https://sqlmodel.tiangolo.com/tutorial/fastapi/update/

# %% Setup
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


class BookUpdate(SQLModel):
    """The body of a PATCH request: every field optional, and no table."""

    title: str | None = None
    year: int | None = None
    copies: int | None = None


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Book).values(title="The Lantern Map", year=2019, copies=3))


def patch_book(book_id: int, body: str) -> Book:
    """What a PATCH /books/{book_id} endpoint does with the request's JSON body."""
    patch = BookUpdate.model_validate_json(body)
    with Session(engine) as session:
        book = session.get(Book, book_id)
        book.sqlmodel_update(patch.model_dump(exclude_unset=True))
        session.add(book)
        session.commit()
        session.refresh(book)
        return book


# %% [markdown]
# The client sends `{"copies": 5}`. Validated into `BookUpdate`, what do `model_dump()` and
# `model_dump(exclude_unset=True)` give? Does anything reach the database?
#
# Expect: no SQL
# Expect: prints "model_dump(): {'title': None, 'year': None, 'copies': 5}"
# Expect: prints "model_dump(exclude_unset=True): {'copies': 5}"

# %% What the client sent
patch = BookUpdate.model_validate_json('{"copies": 5}')
print("model_dump():", patch.model_dump())
print("model_dump(exclude_unset=True):", patch.model_dump(exclude_unset=True))
print("fields set:", patch.model_fields_set)

# %% [markdown] tags=["after"]
# `model_dump()` lists every field, and the ones the client never sent hold their default, `None`.
# Pydantic remembers which fields were really set (`model_fields_set`), and `exclude_unset=True`
# keeps only those: `{'copies': 5}`. Validation is plain Python: no SQL.

# %% [markdown]
# What if the endpoint used `model_dump()` without `exclude_unset`? We load the book, copy the
# whole dump onto it and commit. Predict the UPDATE, and what the database says about it.
#
# Expect: 1 SELECT (get), 1 UPDATE (flush), 0 COMMIT, 1 ROLLBACK
# Expect: raises IntegrityError

# %% Copy every field tags=["raises-exception"]
with Session(engine) as session:
    book = session.get(Book, 1)
    book.sqlmodel_update(patch.model_dump())
    try:
        session.commit()
    except IntegrityError as error:
        print("IntegrityError:", error.orig)

# %% [markdown] tags=["after"]
# The UPDATE sets `title`, `year` and `copies`: the client's 5, and `None` for the two fields it
# never mentioned. `title` is NOT NULL, so the database refuses the whole statement, and the
# session rolls back. Had `title` allowed NULL, the request would have silently wiped the title
# and the year.

# %% [markdown]
# Now the real endpoint, `patch_book(1, '{"copies": 5}')`. Predict the statements: which columns
# does the UPDATE set, and what comes after the COMMIT?
#
# Expect: 1 SELECT (get), 1 UPDATE (flush), 1 COMMIT, 1 SELECT (refresh), 1 ROLLBACK

# %% Only what was sent
book = patch_book(1, '{"copies": 5}')
print("title:", book.title, "| year:", book.year, "| copies:", book.copies)

# %% [markdown] tags=["after"]
# `UPDATE book SET copies=?`: one column, because `sqlmodel_update` set only `copies`, and the
# flush writes only what changed (lesson 11). After the commit, `refresh` reloads the book so the
# response shows the row as it is now. The session then closes; the refresh had opened a new
# transaction, which the close ends with a harmless ROLLBACK.

# %% [markdown]
# A client may also *clear* a field by sending `null`: `{"year": null}`. `exclude_unset` keeps
# it (the client did set it), while `exclude_none=True` would drop it. Predict the printed
# dictionaries and the UPDATE.
#
# Expect: 1 UPDATE (flush)
# Expect: prints "exclude_unset: {'year': None}"

# %% Clear a field with null
cleared = BookUpdate.model_validate_json('{"year": null}')
print("exclude_unset:", cleared.model_dump(exclude_unset=True))
print("exclude_none:", cleared.model_dump(exclude_none=True))
book = patch_book(1, '{"year": null}')
print("title:", book.title, "| year:", book.year, "| copies:", book.copies)

# %% [markdown] tags=["after"]
# `exclude_unset` gives `{'year': None}` and the UPDATE sets `year` to NULL, as asked.
# `exclude_none` would give `{}`: with it, a client could never clear a field. "Not sent" and
# "sent as null" are different answers, and `exclude_unset` is the one that tells them apart.

# %% [markdown]
# The same request twice: `{"copies": 5}` again, when the book already has 5 copies. Predict the
# UPDATE.
#
# Expect: 1 SELECT (get), 0 UPDATE, 1 COMMIT

# %% The same value again
book = patch_book(1, '{"copies": 5}')
print("copies:", book.copies)

# %% [markdown] tags=["after"]
# No UPDATE: `sqlmodel_update` did set `copies`, but to the value it already had, and the flush
# compares each attribute with the value loaded from the database. Nothing changed, nothing is
# written. The COMMIT still ends the transaction that the `get` began.

# %% [markdown]
# A request with a value of the wrong type, `{"copies": "many"}`. Where does it fail, and how
# much SQL does it cost?
#
# Expect: no SQL
# Expect: raises ValidationError

# %% A body that does not validate tags=["raises-exception"]
try:
    patch_book(1, '{"copies": "many"}')
except ValidationError as error:
    print("ValidationError:", error.errors()[0]["loc"], error.errors()[0]["type"])

# %% [markdown] tags=["after"]
# In `BookUpdate.model_validate_json`, before any session opens: no SQL at all. A web framework
# turns this error into a 422 response. Validating the body is the other reason for a separate
# update model: a table model such as `Book` does not validate what it is given.

# %% [markdown]
# Your turn: send one PATCH that changes the title to "The Lantern Map (2nd ed.)" and the year to
# 2024, in one UPDATE.
#
# Expect: 1 UPDATE (flush), 1 COMMIT

# %% Two fields in one request tags=["exercise"] check="update == 1; commit == 1; changed == 1; row book id=1 year == 2024; prints 'title: The Lantern Map (2nd ed.) | year: 2024'" task="Change the title to The Lantern Map (2nd ed.) and the year to 2024 with one PATCH request: one UPDATE of exactly those two columns." hint="Put both fields in one JSON body for one patch_book call: exclude_unset keeps both, and one flush writes them in one UPDATE."
book = patch_book(1, '{"title": "The Lantern Map (2nd ed.)", "year": 2024}')
print("title:", book.title, "| year:", book.year)

# %% [markdown] tags=["after"]
# `UPDATE book SET title=?, year=?`: both fields the client sent, in one statement, and `copies`
# untouched.
