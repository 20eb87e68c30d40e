# %% [markdown]
# # Relationships and foreign keys
#
# Books have authors. In the database that is a **foreign key**: a column `book.author_id` that
# holds the id of a row in `author`. In Python it is nicer to write `book.author` and
# `author.books`: those are **relationship attributes**. `back_populates` links the two sides, so
# that changing one side updates the other in memory, before anything is sent.
#
# Shows: 2 CREATE
#
# Further reading: "Define Relationships Attributes",
# https://sqlmodel.tiangolo.com/tutorial/relationship-attributes/define-relationships-attributes/
# and "Relationship back_populates",
# https://sqlmodel.tiangolo.com/tutorial/relationship-attributes/back-populates/

# %% Setup
import warnings

from sqlalchemy import inspect
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    books: list["Book"] = Relationship(back_populates="author")


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    author_id: int | None = Field(default=None, foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books")


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% [markdown]
# Set the relationship from the book's side: `lantern.author = ada`. What do `ada.books` and
# `lantern.author_id` say afterwards, and is any SQL sent?
#
# Expect: no SQL
# Expect: prints "ada.books: ['The Lantern Map']"
# Expect: value Book#1.author_id == None

# %% Give a book its author
ada = Author(name="Ada Quill")
lantern = Book(title="The Lantern Map", year=2019)
lantern.author = ada
print("ada.books:", [book.title for book in ada.books])
print("lantern.author_id:", lantern.author_id)

# %% [markdown] tags=["after"]
# Thanks to `back_populates`, `ada.books` now contains `lantern`, immediately, with no SQL. But
# `lantern.author_id` is still `None`: Ada has no id yet, and foreign key columns are filled in
# only at flush time.

# %% [markdown]
# Now the other way around: append a book to `ada.books`. What does `orbit.author` say?
#
# Expect: no SQL
# Expect: prints 'orbit.author is ada? True'

# %% Give an author a book
orbit = Book(title="A Quiet Orbit", year=2016)
ada.books.append(orbit)
print("orbit.author is ada?", orbit.author is ada)

# %% [markdown] tags=["after"]
# It works the other way around too: appending to `ada.books` sets `orbit.author`, again with no
# SQL.

# %% [markdown]
# Add only the author. Predict how many objects become pending.
#
# Expect: no SQL
# Expect: state Book#2 pending
# Expect: prints 'pending: 3'

# %% Add the author, and with her, her books
session.add(ada)
print("pending:", len(session.new))

# %% [markdown] tags=["after"]
# Three. Adding an object also adds everything linked to it through relationships (SQLAlchemy
# calls this the "save-update" cascade).

# %% [markdown]
# Commit. Predict the INSERTs, and their order.
#
# Expect: 3 INSERT (flush), 1 COMMIT
# Expect: sql contains 'INSERT INTO author'
# Expect: rows author == 1

# %% Commit tags=["exercise"] check="insert == 3; flush == 3; commit == 1; state Author#1 persistent; rows book == 2" task="Save ada and her two books in the database." hint="Adding the author added her books too (cascade on add): one flush inserts all three."
session.commit()

# %% [markdown] tags=["after"]
# The author first, because the books need her new id for their `author_id`. SQLAlchemy works the
# order out from the foreign key.

# %% [markdown]
# After the commit, read `lantern.author_id`. Predict the SQL and the value.
#
# Expect: 1 SELECT (load expired)
# Expect: value Book#1.author_id == 1

# %% Read the foreign key
print("lantern.author_id:", lantern.author_id)

# %% [markdown] tags=["after"]
# Reading `lantern.author_id` loads the expired book: the foreign key column now holds Ada's id.

# %% [markdown]
# Now follow the relationship, in two lines: `lantern.author`, then `.name`. Ada is in the
# identity map, but the commit expired her. Predict the SQL, and which of the two lines sends it.
#
# Expect: 1 SELECT
# Expect: line select == 'author = lantern.author'

# %% Follow the relationship
author = lantern.author
print("author:", author.name)

# %% [markdown] tags=["after"]
# `lantern.author` looks up the author by her primary key in the identity map and finds `ada`
# there, so it needs no query to *find* her. But the identity-map lookup returns only a loaded
# object: so `lantern.author` itself sends the SELECT, which reloads Ada. Reading `.name`
# afterwards sends nothing. Check the line numbers of the SQL.

# %% [markdown]
# Move a book to a new author. Predict what `ada.books` and `cora.books` say, the SQL, and the
# state of Cora, whom we never add to the session.
#
# Expect: 1 SELECT, 0 INSERT, 0 UPDATE
# Expect: state Author#2 pending
# Expect: prints "cora's books: ['A Quiet Orbit']"

# %% Move a book to another author
cora = Author(name="Cora Lind")
print("ada's books before:", [book.title for book in ada.books])
orbit.author = cora
print("ada's books after:", [book.title for book in ada.books])
print("cora's books:", [book.title for book in cora.books])

# %% [markdown] tags=["after"]
# Setting `orbit.author` removes `orbit` from `ada.books` in memory and adds it to `cora.books`.
# (Reading `ada.books` first loads that list: one SELECT, a *lazy load*, the subject of the next
# lesson.) Notice that Cora becomes pending the moment `orbit.author = cora` links her to a book
# that is in the session: adding follows `Book.author` from the book to her. From her side it
# would not, as a step below shows.

# %% [markdown]
# Commit the move. Predict the SQL.
#
# Expect: 1 INSERT (flush), 1 UPDATE (flush), 1 COMMIT

# %% Commit the move
session.commit()

# %% [markdown] tags=["after"]
# The commit sends an INSERT for Cora (she came into the session through `orbit`) and an UPDATE of
# `orbit`'s foreign key.

# %% [markdown]
# Now from the other side: a new author, Dara, never added, and `dara.books.append(orbit)`. Does
# Dara become pending? Predict the SQL of the commit, and which author `orbit` has afterwards. (We
# catch SQLAlchemy's warning with `warnings.catch_warnings` to print it.)
#
# Expect: 0 INSERT, 0 UPDATE, 1 COMMIT
# Expect: state Author#3 transient
# Expect: value Book#2.author_id == 2

# %% Append from the author's side
dara = Author(name="Dara Vell")
dara.books.append(orbit)
print("orbit.author is dara?", orbit.author is dara, "| dara transient?", inspect(dara).transient)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    session.commit()
print("warning:", *[str(warning.message) for warning in caught])
print("orbit.author_id:", orbit.author_id, "| dara transient?", inspect(dara).transient)

# %% [markdown] tags=["after"]
# The back-reference sets `orbit.author = dara` in memory, but Dara stays **transient**: since
# SQLAlchemy 2.0 an object does not join the session through a back-reference event (here, the
# append on Dara's side). At the flush the session finds `orbit` pointing to an object it does not
# know, warns "... add operation along 'Book.author' won't proceed", and sends no INSERT and no
# UPDATE (its one SELECT only reloads `orbit`, expired by the last commit): after the commit
# `orbit.author_id` still holds Cora's id. `session.add(dara)` first would have worked.

# %% [markdown]
# A trap to know. Here `lantern.author` is loaded (Ada), then we set the foreign key **column**
# `lantern.author_id` to Cora's id. What does the relationship say afterwards? Is an UPDATE sent?
#
# Expect: 0 UPDATE
# Expect: prints 'author after setting author_id: Ada Quill'
# Expect: value Book#1.author_id == 2

# %% Set the foreign key column directly
print("author:", lantern.author.name)
lantern.author_id = cora.id
print("author after setting author_id:", lantern.author.name)

# %% [markdown] tags=["after"]
# Setting the foreign key column yourself does not update the relationship attribute in memory.
# The relationship still says Ada, and no UPDATE is sent yet. The object panel shows the
# contradiction plainly: `author_id` is 2 while `author` is still Ada's object. (The SELECTs in
# this step only load what the previous commit expired.)

# %% [markdown]
# Commit, then read `lantern.author` again. Predict the SQL, and the author's name.
#
# Expect: 1 UPDATE (flush), 1 COMMIT
# Expect: prints 'author after commit: Cora Lind'

# %% Commit, then read again
session.commit()
print("author after commit:", lantern.author.name)
session.close()

# %% [markdown] tags=["after"]
# The commit sends the UPDATE and expires everything; the next read of `lantern.author` follows
# the new foreign key, and the two finally agree. Prefer setting the relationship attribute
# (`lantern.author = cora`), which keeps both in step from the start.
