# %% [markdown]
# # Expire on purpose: single attributes, whole objects, everything
#
# Commit is not the only thing that expires attributes. You can do it yourself, attribute by
# attribute, with `session.expire`, or for every object at once with `session.expire_all`. And
# `session.refresh` can reload just the attributes you name.
#
# The setup adds two books and commits, so both start out expired.
#
# Shows: 1 CREATE, 2 INSERT
#
# Further reading: SQLAlchemy, "Refreshing / Expiring",
# https://docs.sqlalchemy.org/en/20/orm/session_state_management.html#refreshing-expiring

# %% Setup
from sqlmodel import Field, Session, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
lantern = Book(title="The Lantern Map", year=2019, copies=2)
salt = Book(title="Salt and Starlight", year=2020)
session.add(lantern)
session.add(salt)
session.commit()

# %% [markdown]
# Read one attribute of each book. Remember lesson 4, and predict the SQL.
#
# Expect: 2 SELECT (load expired)

# %% Load both books
print(lantern.title, "/", salt.title)

# %% [markdown] tags=["after"]
# Reading one attribute of each book loaded all of that book's columns: one SELECT per book.

# %% [markdown]
# Now expire a single attribute: `session.expire(obj, ["copies"])`. Predict the SQL, and what the
# object panel shows afterwards.
#
# Expect: no SQL

# %% Expire one attribute
session.expire(lantern, ["copies"])

# %% [markdown] tags=["after"]
# Expiring never sends SQL; it only marks the value as "read it again next time". The object panel
# lists `copies` as expired while the other attributes keep their values.

# %% [markdown]
# Read the title, which we did not expire. What does it cost?
#
# Expect: no SQL
# Expect: expired Book#1 copies
# Expect: prints 'title: The Lantern Map'

# %% Read an attribute that is still loaded
print("title:", lantern.title)

# %% [markdown] tags=["after"]
# Nothing: the title was not expired, so reading it is free.

# %% [markdown]
# Now read `copies`. Predict the SQL: which columns does it ask for?
#
# Expect: 1 SELECT (load expired)

# %% Read the expired attribute tags=["exercise"] check="select == 1; load_expired == 1; loaded Book#1 copies; prints 'copies: 2'" task="Print lantern's copies, the attribute the step before expired, as the database has it." hint="Reading an expired attribute loads it with one SELECT; session.refresh() would be a refresh, not a load of what expired."
print("copies:", lantern.copies)

# %% [markdown] tags=["after"]
# Reading `copies` loaded it. The SELECT asks for `book.copies` only, because nothing else is
# missing.

# %% [markdown]
# We change `copies`, then expire the whole object (no list of names means every attribute), and
# read `copies` again. Predict the SQL, and the number printed.
#
# Expect: 1 SELECT (load expired), 0 UPDATE
# Expect: value Book#2.copies == 1

# %% Expire an attribute with an unflushed change
salt.copies = 10
session.expire(salt)
print("copies:", salt.copies)

# %% [markdown] tags=["after"]
# Expiring throws away changes that were not flushed yet. The change is gone: the read got the
# value from the database, and no UPDATE is ever sent.

# %% [markdown]
# `session.expire_all()` expires every object in the session at once. It is what commit does for
# you; you can call it yourself when you know that the database was changed by somebody else.
# Predict the SQL.
#
# Expect: no SQL

# %% Expire everything
session.expire_all()

# %% [markdown] tags=["after"]
# None: like `expire`, it only marks.

# %% [markdown]
# `session.refresh(obj, ["title"])` reloads only the attributes you name, immediately. Predict
# what the object panel shows afterwards.
#
# Expect: 1 SELECT (refresh)
# Expect: loaded Book#2 title
# Expect: expired Book#2 copies, id, year

# %% Refresh one attribute
session.refresh(salt, ["title"])

# %% [markdown] tags=["after"]
# `title` loaded, the rest still expired.

# %% [markdown]
# Now read two attributes that are still expired. Predict the SQL: how many SELECTs, and which
# columns?
#
# Expect: 1 SELECT (load expired)

# %% Read the rest
print("year:", salt.year, "| copies:", salt.copies)
session.close()

# %% [markdown] tags=["after"]
# Reading an attribute that is still expired loaded the remaining expired columns together, in
# one SELECT that leaves out `title`.
