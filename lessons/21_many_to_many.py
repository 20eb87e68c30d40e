# %% [markdown]
# # Many-to-many: link tables and link models
#
# A book can have several genres, and a genre covers many books. Neither table can hold a single
# foreign key for that; a third table does: a **link table** with one row per (book, genre) pair.
# In SQLModel the link table is a small model, passed to both relationships as `link_model`. You
# never touch its rows yourself: appending to `book.genres` is enough.
#
# When the link itself carries data (who borrowed which book, and for how long), the link becomes
# a model of its own with relationships to both sides: the second half of this lesson.
#
# Shows: 5 CREATE
#
# Further reading: "Many to Many", https://sqlmodel.tiangolo.com/tutorial/many-to-many/ and "Link
# Model with Extra Fields",
# https://sqlmodel.tiangolo.com/tutorial/many-to-many/link-with-extra-fields/

# %% Setup
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine


class BookGenreLink(SQLModel, table=True):
    book_id: int | None = Field(default=None, foreign_key="book.id", primary_key=True)
    genre_id: int | None = Field(default=None, foreign_key="genre.id", primary_key=True)


class Genre(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(back_populates="genres", link_model=BookGenreLink)


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    genres: list[Genre] = Relationship(back_populates="books", link_model=BookGenreLink)
    loans: list["Loan"] = Relationship(back_populates="book")


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    loans: list["Loan"] = Relationship(back_populates="member")


class Loan(SQLModel, table=True):
    member_id: int | None = Field(default=None, foreign_key="member.id", primary_key=True)
    book_id: int | None = Field(default=None, foreign_key="book.id", primary_key=True)
    weeks: int = 2
    member: Member = Relationship(back_populates="loans")
    book: Book = Relationship(back_populates="loans")


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown]
# Give a book two genres. Remember one-to-many (lesson 17): what does `mystery.books` say now, and
# is anything sent?
#
# Expect: no SQL
# Expect: prints "mystery books: ['The Lantern Map']"

# %% A book and its genres, in memory
adventure = Genre(name="Adventure")
mystery = Genre(name="Mystery")
lantern = Book(title="The Lantern Map", genres=[adventure, mystery])
print("mystery books:", [book.title for book in mystery.books])

# %% [markdown] tags=["after"]
# As with one-to-many, `back_populates` keeps the other side in step in memory: `mystery.books`
# lists the book before anything is sent.

# %% [markdown]
# Add the book and commit. Its genres come along (adding follows relationships). Predict the
# INSERTs: which come first, and how many statements?
#
# Expect: 4 INSERT (flush), 1 COMMIT
# Expect: rows bookgenrelink == 2

# %% Commit
session.add(lantern)
session.commit()

# %% [markdown] tags=["after"]
# The book and the genres first, since they need ids; then the link rows, which are only pairs of
# ids, both in a single executemany INSERT.
#
# > **SQLite note:** SQLite gets one INSERT per genre, four INSERTs in all. On PostgreSQL the two
# > genres go out in one batch that still returns their ids (lesson 2), three INSERTs in all.

# %% [markdown]
# A second mystery, added from the genre's side this time: appending to `mystery.books`, then
# committing. Predict the SQL: what must the session load before it can append, and what does the
# commit insert?
#
# Expect: 1 SELECT (load expired), 1 SELECT (lazy load), 2 INSERT (flush), 1 COMMIT

# %% Add a book from the genre's side
orbit = Book(title="A Quiet Orbit")
mystery.books.append(orbit)
session.commit()

# %% [markdown] tags=["after"]
# To append, the session first loads the list (after reloading `mystery`, which the commit had
# expired). Look at the FROM clause of that lazy load: it joins the book table with the link
# table. Appending also put the new book in the session, and the commit inserted it and its link
# row.

# %% [markdown]
# Read the list again, now that the commit expired it. Predict the SQL and the titles.
#
# Expect: 1 SELECT (load expired), 1 SELECT (lazy load)
# Expect: prints "mystery books: ['The Lantern Map', 'A Quiet Orbit']"

# %% Follow the link
print("mystery books:", [book.title for book in mystery.books])

# %% [markdown] tags=["after"]
# The same lazy load as before, and now it finds both books.

# %% [markdown]
# Remove a genre from a book, and commit. Which rows does the ORM delete?
#
# Expect: 1 DELETE (flush), 1 COMMIT
# Expect: rows bookgenrelink == 2

# %% Remove a genre from a book
lantern.genres.remove(mystery)
session.commit()

# %% [markdown] tags=["after"]
# Only the link row: the ORM never deletes the genre or the book here. Reading `lantern.genres` to
# remove from it loaded that list first.

# %% [markdown]
# Now a link **with data**: a loan says which member borrowed which book, and for how many weeks.
# `Loan` is a table model with two foreign keys (together its primary key), an extra column, and a
# relationship to each side. We add only the member, then commit. Predict the SQL.
#
# Expect: 2 INSERT (flush), 1 SELECT (load expired), 1 COMMIT

# %% Borrow a book
mina = Member(name="Mina")
mina_loan = Loan(member=mina, book=orbit, weeks=3)
session.add(mina)
session.commit()

# %% [markdown] tags=["after"]
# Adding the member brings the loan along (through `mina.loans`). The book is already in the
# database, but the loan needs its id for `book_id`, and the last commit expired it: the flush
# reads it back first.

# %% [markdown]
# To reach the book from the member you go through the loan: `mina.loans`, then `loan.book`.
# Predict the lazy loads: one for each hop?
#
# Expect: 1 SELECT (lazy load Member.loans), 0 SELECT (lazy load Loan.book)
# Expect: prints 'Mina has A Quiet Orbit for 3 weeks'

# %% Read through the link model
for loan in mina.loans:
    print(mina.name, "has", loan.book.title, "for", loan.weeks, "weeks")

# %% [markdown] tags=["after"]
# Each hop is a lazy load, unless the object is already in the identity map: `loan.book` finds
# `orbit` there and sends no lazy load. The other SELECTs reload what the commit expired.

# %% [markdown]
# The extra column is updated like any other attribute. Predict the WHERE clause of the UPDATE.
#
# Expect: 1 UPDATE (flush), 1 COMMIT

# %% Extend the loan tags=["exercise"] check="update == 1; flush == 1; commit == 1; row loan member_id=1 weeks == 4" task="Extend Mina's first loan to 4 weeks and save it before closing the session." hint="The loan is a row of the link model: changing it and committing sends one UPDATE."
mina.loans[0].weeks = 4
session.commit()
session.close()

# %% [markdown] tags=["after"]
# A loan is identified by *both* its foreign keys.
