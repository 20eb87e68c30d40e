# %% [markdown]
# # Relationship settings: order_by, lazy, and models in several modules
#
# `Relationship()` in SQLModel takes few arguments of its own; everything else goes to
# SQLAlchemy's `relationship()` through `sa_relationship_kwargs={...}`. This lesson uses the
# three settings asked about most: `order_by` (a collection has no order otherwise), `lazy` (when
# a relationship loads: `"select"` on first access, the default; `"selectin"` with the query;
# `"raise"` never, an error instead), and the class names in quotes that let models live in
# different modules.
#
# Expect: 4 CREATE
#
# Further reading: "Relationship Attributes",
# https://sqlmodel.tiangolo.com/tutorial/relationship-attributes/ and SQLAlchemy,
# "Relationship Loading Techniques", https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html

# %% Setup
from sqlalchemy.exc import InvalidRequestError
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Author(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    # "Book.title" is a string: the class Book is defined further down.
    books: list["Book"] = Relationship(
        back_populates="author", sa_relationship_kwargs={"order_by": "Book.title"}
    )


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    author_id: int | None = Field(default=None, foreign_key="author.id")
    author: Author | None = Relationship(back_populates="books", sa_relationship_kwargs={"lazy": "raise"})


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    loans: list["Loan"] = Relationship(sa_relationship_kwargs={"lazy": "selectin", "order_by": "Loan.id"})


class Loan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    member_id: int = Field(foreign_key="member.id")


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with Session(engine) as session:
    ada = Author(name="Ada Quill", books=[Book(title="Tides of Ink"), Book(title="A Quiet Orbit")])
    ben = Member(name="Ben Ortiz", loans=[Loan(title="Paper Moons"), Loan(title="The Lantern Map")])
    session.add_all([ada, ben])
    session.commit()
session = Session(engine)

# %% [markdown]
# Ada's books were inserted as "Tides of Ink", then "A Quiet Orbit". Load Ada and read her
# `books`. Predict the SQL of the lazy load, and the order of the titles.
#
# Expect: 1 SELECT (query), 1 SELECT (lazy load)

# %% order_by on the relationship
ada = session.exec(select(Author)).one()
print([book.title for book in ada.books])

# %% [markdown] tags=["after"]
# The lazy load ends in `ORDER BY book.title`, so the titles come sorted: "A Quiet Orbit" first.
# Without `order_by` the SELECT has no ORDER BY, and the database may return the books in any
# order (usually, but not surely, the order of insertion).

# %% [markdown]
# Append a new book, "Atlas of Rain", to the loaded list. Where does it appear, and is any SQL
# sent?
#
# Expect: no SQL

# %% Append to a loaded collection
ada.books.append(Book(title="Atlas of Rain"))
print([book.title for book in ada.books])

# %% [markdown] tags=["after"]
# At the end: `order_by` is applied by the SELECT that loads the collection, not by the Python
# list. Until the collection is loaded again (after a commit expires it, say), it keeps the order
# in which you changed it.

# %% [markdown]
# `Book.author` has `lazy="raise"`. Read a book's author. Predict what happens.
#
# Expect: 0 SELECT
# Expect: raises InvalidRequestError

# %% lazy raise tags=["raises-exception"]
first = ada.books[0]
try:
    print(first.author.name)
except InvalidRequestError as error:
    print("InvalidRequestError:", error)

# %% [markdown] tags=["after"]
# "'Book.author' is not available due to lazy='raise'": a lazy load that would have been silent
# (and, in a loop, an N+1, lesson 18) is now an error you see in development. Load the author
# with the query instead, `options(selectinload(...))`, and the error goes away. (Here the author
# is even in the identity map already: `raise` refuses all the same.) In async code it turns
# `MissingGreenlet` into a clear message (lesson 26).

# %% [markdown]
# `Member.loans` has `lazy="selectin"`: it loads with every query for members. Query the members
# and print their loans. Predict the SQL, and which line sends it.
#
# Expect: 2 SELECT, 0 SELECT (lazy load)
# Expect: line select == 'for member in session.exec(select(Member)).all():'

# %% lazy selectin tags=["exercise"] check="select == 2; lazy_load == 0; sql contains 'FROM loan'; prints 'Ben Ortiz has Paper Moons, The Lantern Map'" task="Print every member with the titles of their loans, in two SELECTs however many members there are." hint="With lazy='selectin' the query itself sends the second SELECT, for the loans of every member it returned; reading member.loans then sends nothing."
for member in session.exec(select(Member)).all():
    print(member.name, "has", ", ".join(loan.title for loan in member.loans))

# %% [markdown] tags=["after"]
# Both SELECTs come from the query line (after the autoflush INSERT of "Atlas of Rain", pending
# since it was appended two steps before): the members, then `... WHERE loan.member_id IN (...)
# ORDER BY loan.id` for all of their loans at once. The loop reads loaded lists. A setting on the
# relationship applies to every query; an option such as `selectinload` to one query only.

# %% [markdown]
# **Models in several modules.** The quoted names, `list["Book"]` and `"Book.title"`, are looked
# up by class name when SQLAlchemy first sets the mappers up, at the first query or object. So
# `author.py` and `book.py` can refer to each other (with `if TYPE_CHECKING:` imports for the
# type checker), as long as *both modules have been imported* by then; a models package often
# imports all of them in its `__init__.py`. What if one is never imported? Here a `Shelf` refers
# to a class `Volume` that nobody defined. Predict when it fails. (Then we close the session.)
#
# Expect: 0 statements


# %% A class that was never imported tags=["raises-exception"]
class Shelf(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    volumes: list["Volume"] = Relationship()  # noqa: F821 (the point: no class Volume)


print("Shelf defined")
try:
    Shelf()
except InvalidRequestError as error:
    print("InvalidRequestError:", str(error).split(". ")[0])
session.close()

# %% [markdown] tags=["after"]
# Defining `Shelf` works; the first use fails: "expression 'Volume' failed to locate a name".
# The message appears far from its cause, in whatever line first touches the models (and after it
# every mapper of the registry refuses to work), which is why it is worth importing all model
# modules in one place.
