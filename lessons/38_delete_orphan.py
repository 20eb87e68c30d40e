# %% [markdown]
# # Removing children from a collection: delete-orphan and NOT NULL foreign keys
#
# What does `author.books.remove(book)` send? It depends on two settings. By default the book
# merely loses its parent: the flush sets its foreign key to NULL, and if that column is NOT NULL
# the database refuses. With the **delete-orphan** cascade (which SQLModel's
# `Relationship(cascade_delete=True)` includes) a book without an author is deleted. And a book
# that moves to another author is not an orphan at all. This lesson sends each of these, with
# loans that belong to a member (no cascade) and books that belong to an author (with
# `cascade_delete=True`), both through NOT NULL foreign keys.
#
# Expect: 4 CREATE
#
# Further reading: SQLAlchemy, "delete-orphan",
# https://docs.sqlalchemy.org/en/20/orm/cascades.html#delete-orphan and "Cascade Delete
# Relationships", https://sqlmodel.tiangolo.com/tutorial/relationship-attributes/cascade-delete-relationships/

# %% Setup
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    loans: list["Loan"] = Relationship(back_populates="member")


class Loan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    member_id: int = Field(foreign_key="member.id")
    member: Member | None = Relationship(back_populates="loans")


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(back_populates="author", cascade_delete=True)


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int = Field(foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books")


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown]
# Ben borrows two books; Ada writes two, and Cora none yet. One commit. Predict the number of
# INSERTs.
#
# Expect: 7 INSERT (flush), 1 COMMIT

# %% The library's data
ben = Member(name="Ben Ortiz", loans=[Loan(title="The Lantern Map"), Loan(title="Paper Moons")])
ada = Author(name="Ada Quill", books=[Book(title="A Quiet Orbit"), Book(title="Tides of Ink")])
cora = Author(name="Cora Lind")
session.add_all([ben, ada, cora])
session.commit()

# %% [markdown] tags=["after"]
# Three parents and four children. Adding the parents added their children too (lesson 17), and
# the parents went first, so that the children had their ids.
#
# > **SQLite note:** seven INSERTs here, one row per statement (lesson 30); on PostgreSQL the
# > rows of one table share a statement, so the same flush sends four.

# %% [markdown]
# Ben returns a book: remove the loan from `ben.loans` and commit. `Member.loans` has no
# delete-orphan. Predict what the flush sends for the loan, and the database's answer.
#
# Expect: 1 UPDATE (flush), 0 DELETE, 1 ROLLBACK

# %% Remove a loan tags=["raises-exception"]
returned = ben.loans[0]
ben.loans.remove(returned)
try:
    session.commit()
except IntegrityError as error:
    print("IntegrityError:", error.orig)
    session.rollback()

# %% [markdown] tags=["after"]
# `UPDATE loan SET member_id=? WHERE loan.id = ?` with `None`: removing a child from a collection
# only unlinks it, and the foreign key says "no member". `member_id` is NOT NULL, so the database
# refuses, and the session rolls back. With a nullable foreign key the loan would stay, with no
# member. To remove the row, delete it (`session.delete(returned)`), or give the relationship
# delete-orphan.

# %% [markdown]
# `Author.books` has `cascade_delete=True`, which is SQLAlchemy's `"all, delete-orphan"`. Remove
# a book from `ada.books` and commit. Predict the SQL.
#
# Expect: 1 DELETE (flush), 0 UPDATE, 1 COMMIT

# %% Remove a book tags=["exercise"] check="delete == 1; update == 0; commit == 1" task="Remove A Quiet Orbit from Ada's books and commit, so that its row is deleted." hint="With delete-orphan, a book removed from its author's books has no parent left, and the flush deletes it."
orbit = ada.books[0]
ada.books.remove(orbit)
session.commit()
print("books:", session.exec(select(Book.title)).all())

# %% [markdown] tags=["after"]
# `DELETE FROM book WHERE book.id = ?`: a book without an author is an **orphan**, and
# delete-orphan deletes it. No UPDATE to NULL is even tried.

# %% [markdown]
# Now move Ada's other book to Cora: `tides.author = cora`. Is it an orphan for a moment, and
# deleted? Predict the SQL.
#
# Expect: 1 UPDATE (flush), 0 DELETE, 1 COMMIT
# Expect: state Book#5 persistent

# %% Move a book to another author
tides = ada.books[0]
tides.author = cora
session.commit()
print("Cora's books:", [book.title for book in cora.books])

# %% [markdown] tags=["after"]
# `UPDATE book SET author_id=?` with Cora's id. The flush looks at where each object ends up: the
# book left Ada's `books` but has a parent, Cora, so it is not an orphan. (In memory,
# `tides.author = cora` also removed it from `ada.books`, through the back-reference.)

# %% [markdown]
# And deleting a parent? Delete Cora, who has one book. Predict the SQL.
#
# Expect: 2 DELETE (flush), 1 COMMIT

# %% Delete an author
session.delete(cora)
session.commit()
print("authors:", session.exec(select(Author.name)).all(), "| books:", session.exec(select(Book.title)).all())
session.close()

# %% [markdown] tags=["after"]
# The "delete" part of the cascade: the session deletes each of Cora's books, then Cora. Her
# `books` were still loaded from the print of the step before; otherwise a SELECT would have
# loaded them first. (The two SELECTs after the COMMIT are the two queries of the print.)
# Lesson 20 compares this with the database's own `ON DELETE CASCADE`.
