# %% [markdown]
# # Closing the session: detached objects
#
# A `with Session(engine) as session:` block closes the session when it ends. The objects you made
# or loaded inside it live on, but they are **detached**: no session, so no connection, so no way
# to load anything. Combine that with expire on commit (lesson 4) and you get the most famous
# error of SQLAlchemy: `DetachedInstanceError`.
#
# Shows: 1 CREATE
#
# Further reading: SQLAlchemy, "Quickie Intro to Object States",
# https://docs.sqlalchemy.org/en/20/orm/session_state_management.html#quickie-intro-to-object-states

# %% Setup
from sqlalchemy.orm.exc import DetachedInstanceError
from sqlmodel import Field, Session, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)

# %% [markdown]
# The usual pattern: open a session in a `with` block, add, commit. Leaving the block closes the
# session. Predict the state of `lantern` afterwards, and which of its attributes are loaded.
#
# Expect: 1 INSERT (flush), 1 COMMIT
# Expect: state Book#1 detached
# Expect: expired Book#1 copies, id, title, year
# Expect: line insert == 'session.commit()'

# %% Add a book inside a with block
lantern = Book(title="The Lantern Map", year=2019)
with Session(engine) as session:
    session.add(lantern)
    session.commit()

# %% [markdown] tags=["after"]
# The object panel has the answer: the state badge of `lantern` and the attributes it lists as
# expired: `lantern` is detached, and every attribute is expired, because the commit emptied it
# just before the session closed.

# %% [markdown]
# Now read its title. What happens, and is any SQL sent?
#
# This cell catches the error and prints where to read about it, so that the file also runs to
# the end with plain `python`; sqlecho still shows it as this step's error, with the full message.
#
# Expect: no SQL
# Expect: raises DetachedInstanceError

# %% Read a title after the session closed tags=["raises-exception"]
try:
    print(lantern.title)
except DetachedInstanceError as error:
    print(f"{type(error).__name__}: see https://sqlalche.me/e/21/{error.code}")

# %% [markdown] tags=["after"]
# Reading the title needs a SELECT, and a detached object has nobody to send it. SQLAlchemy raises
# `DetachedInstanceError`. Notice that no SQL was sent: SQLAlchemy refuses before it even tries.

# %% [markdown]
# There are four common fixes. **Fix 1: refresh before the session closes.** `refresh` loads the
# attributes while a connection is still available, so they are there after the close.
#
# Expect: 1 INSERT (flush), 1 COMMIT, 1 SELECT (refresh)

# %% Fix 1: refresh before closing
orbit = Book(title="A Quiet Orbit", year=2016)
with Session(engine) as session:
    session.add(orbit)
    session.commit()
    session.refresh(orbit)

# %% [markdown] tags=["after"]
# The ROLLBACK at the end of that step is the `with` block closing the session: the refresh had
# opened a new transaction, and closing ends it. Nothing is lost, the commit came before.

# %% [markdown]
# The session is closed. Which state is `orbit` in, does reading its values work, and what does
# it send?
#
# Expect: no SQL
# Expect: prints 'A Quiet Orbit 2016 2'
# Expect: state Book#2 detached

# %% Read the refreshed book
print(orbit.title, orbit.year, orbit.id)

# %% [markdown] tags=["after"]
# It works and sends nothing: the values were loaded, so reading them needs no database at all.

# %% [markdown]
# **Fix 2: do not expire on commit.** With `expire_on_commit=False` the commit leaves the values in
# place. (Remember the price from lesson 4: the values are not re-checked.) Predict the SQL of
# adding, committing and then printing the book.
#
# Expect: 1 INSERT (flush), 1 COMMIT, 0 SELECT

# %% Fix 2: keep the values at commit tags=["exercise"] check="insert == 1; commit == 1; select == 0; state Book#3 detached; prints 'Paper Moons 2023 3'" task="Save Paper Moons and print its title, year and id after the session is closed, without another SELECT." hint="With expire_on_commit=False the values survive the commit, so the closed session's book can still be printed without a SELECT."
moons = Book(title="Paper Moons", year=2023)
with Session(engine, expire_on_commit=False) as session:
    session.add(moons)
    session.commit()
print(moons.title, moons.year, moons.id)

# %% [markdown] tags=["after"]
# There is nothing to reload, not even a SELECT.

# %% [markdown]
# **Fix 3: finish your work before the block ends.** Inside the block the session is open: predict
# the SQL of reading the book right after its commit.
#
# Expect: 1 INSERT (flush), 1 COMMIT, 1 SELECT (load expired)

# %% Fix 3: keep the session open while you need it
tides = Book(title="Tides of Ink", year=2021)
with Session(engine) as session:
    session.add(tides)
    session.commit()
    print(tides.title, tides.year, tides.id)

# %% [markdown] tags=["after"]
# The expired attributes load normally (one SELECT) and everything works.

# %% [markdown]
# **Fix 4: re-attach the detached object.** And `lantern`, the broken one? A detached object can
# join a session again with `session.add`. Which state does it take, and what does reading it
# send?
#
# Expect: 1 SELECT (load expired)
# Expect: state Book#1 detached
# Expect: value Book#1.title == 'The Lantern Map'

# %% Fix 4: attach the book to a new session
with Session(engine) as session:
    session.add(lantern)
    print(lantern.title, lantern.id)

# %% [markdown] tags=["after"]
# It becomes persistent in the new session, which can then load its expired attributes with one
# SELECT. Leaving the `with` block closes that session, so `lantern` ends the step detached again,
# this time with its values loaded.
