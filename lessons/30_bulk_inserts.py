# %% [markdown]
# # Bulk inserts and bulk updates
#
# `session.add_all(objects)` is the everyday way to insert many rows: every object is tracked,
# gets its id, and stays in the session. When you have thousands of plain dictionaries and do not
# need objects, `session.execute(insert(Book), rows)` sends them with far less work. This lesson
# compares the SQL of both, shows `RETURNING` batches, and a bulk UPDATE by primary key.
#
# Shows: 1 CREATE
#
# Further reading: SQLAlchemy, "ORM Bulk INSERT Statements",
# https://docs.sqlalchemy.org/en/20/orm/queryguide/dml.html#orm-bulk-insert-statements

# %% Setup
from sqlalchemy import insert, inspect, update
from sqlmodel import Field, Session, SQLModel, create_engine, func, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown]
# `add_all` of three new books, and a flush. Remember lesson 2: predict the INSERTs.
#
# Expect: 3 INSERT (flush)
# Expect: prints 'objects in the identity map: 3'
# Expect: rows book == 0

# %% add_all, then flush
books = [
    Book(title="The Lantern Map", year=2019, copies=3),
    Book(title="A Quiet Orbit", year=2016),
    Book(title="Paper Moons", year=2023, copies=2),
]
session.add_all(books)
session.flush()
print("objects in the identity map:", len(session.identity_map))

# %% [markdown] tags=["after"]
# Look at the INSERTs: `RETURNING id`, "insertmanyvalues batch 1/3", "2/3", "3/3" (lesson 2). The
# session needs every new id, and must know which id belongs to which object; on SQLite,
# SQLAlchemy makes sure of that by sending one row per batch. Then all three objects are in the
# identity map (the list `books` keeps them alive: the identity map itself holds objects only
# weakly).
#
# > **SQLite note:** on PostgreSQL, SQLAlchemy can put many rows into one batch (up to 1,000 by
# > default) and still match the returned ids to the objects, so the same flush is one statement.
# > A single new row gets its id from `RETURNING` there too, where SQLite reads `lastrowid`.

# %% [markdown]
# Now the bulk way: `session.execute(insert(Book), [dict, dict, ...])`, with four dictionaries.
# Predict the SQL, and whether the identity map grows.
#
# Expect: 1 INSERT, 0 SELECT
# Expect: prints 'objects in the identity map: 3'

# %% Bulk insert from dictionaries tags=["exercise"] check="sql == 1; insert == 1; changed == 4; prints 'objects in the identity map: 3'" task="Insert the four rows with one statement, without creating an object for each." hint="session.execute(insert(Book), [...]) with a list of dictionaries sends one INSERT for all of them and creates no objects."
rows = [
    {"title": "Tides of Ink", "year": 2021},
    {"title": "Glass Rivers", "year": 2024},
    {"title": "Salt and Starlight", "year": 2020},
    {"title": "The Clockwork Garden", "year": 2012},
]
session.execute(insert(Book), rows)
print("objects in the identity map:", len(session.identity_map))

# %% [markdown] tags=["after"]
# No objects are created, no ids are needed, so SQLAlchemy sends **one** executemany: one INSERT
# statement with a list of parameter rows (the transcript shows them all). The identity map does
# not grow. `copies` comes from the field's default, since no dictionary gives it. All four
# dictionaries have the same keys; SQLAlchemy groups rows by their keys, so a dictionary with other
# keys would start another statement.

# %% [markdown]
# Want the new objects after all? Add `.returning(Book)` and use `session.scalars`. Predict the SQL
# for two new rows, and the state of the objects you get.
#
# Expect: 1 INSERT
# Expect: sql contains 'RETURNING'

# %% Bulk insert with RETURNING
more = [{"title": "Paper Boats", "year": 2018}, {"title": "Night Library", "year": 2022}]
new_books = session.scalars(insert(Book).returning(Book), more).all()
print([(book.id, book.title, inspect(book).persistent) for book in new_books])

# %% [markdown] tags=["after"]
# The INSERT ends in `RETURNING id, title, year, copies`, and you get persistent `Book` objects,
# now in the identity map. This time both rows go into **one** statement (`VALUES (...), (...)`,
# batch 1/1): the objects are built from the returned rows, so no id has to be matched to an
# object that already exists.

# %% [markdown]
# A **bulk UPDATE by primary key**: `session.execute(update(Book), [dicts])`, each dictionary
# with the primary key and the new values. Books 1 and 2 are still loaded (the `books` list of the
# `add_all` step), so `session.get(Book, 1)` answers from the identity map without SQL. Predict the
# SQL, `lantern.copies` after the UPDATE, and whether it costs a SELECT.
#
# Expect: 1 UPDATE, 0 SELECT
# Expect: value Book#1.copies == 6

# %% Bulk update by primary key
lantern = session.get(Book, 1)
session.execute(update(Book), [{"id": 1, "copies": 6}, {"id": 2, "copies": 5}])
print("lantern.copies in memory:", lantern.copies)

# %% [markdown] tags=["after"]
# SQLAlchemy turns the list into one executemany `UPDATE book SET copies=? WHERE book.id = ?`.
# `lantern.copies` is 6, with no SELECT. The session copies the new values onto the objects it has
# loaded for those primary keys (the transcript says `copies` was refreshed for both); a row with
# no loaded object would simply be updated in the database.

# %% [markdown]
# Commit, read `lantern.copies` again, and count the books. Predict the SQL and both numbers.
#
# Expect: 1 COMMIT, 1 SELECT (load expired), 2 SELECT
# Expect: prints 'lantern.copies from the database: 6'
# Expect: prints 'books: 9'

# %% Commit and check
session.commit()
print("lantern.copies from the database:", lantern.copies)
print("books:", session.exec(select(func.count()).select_from(Book)).one())
session.close()

# %% [markdown] tags=["after"]
# The commit ends the transaction and expires everything, so the next read of `lantern` loads the
# row again: still 6. The last query counts 9 books: three objects from `add_all`, four
# dictionaries, two more with RETURNING.
