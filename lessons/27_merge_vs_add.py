# %% [markdown]
# # merge() versus add()
#
# `session.add(obj)` puts *that very object* into the session. `session.merge(obj)` does not: it
# finds or loads the session's own object for the same primary key, copies the state of `obj`
# onto it, and returns it. The difference matters as soon as an object comes from somewhere else:
# another session, or an API payload. This lesson provokes the two errors that `add` gives there,
# shows `merge`, why a *partial* payload must not be merged (and the PATCH pattern to use
# instead), `make_transient` (to copy a row) and `expunge_all`.
#
# Two sessions are open at the same time, so the database is a file in a temporary folder.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Merging",
# https://docs.sqlalchemy.org/en/20/orm/session_state_management.html#merging

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import insert, inspect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import make_transient
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    year: int | None = None
    copies: int = 1


class BookUpdate(SQLModel):
    """What a PATCH request may send: every field optional, no table."""

    title: str | None = None
    year: int | None = None
    copies: int | None = None


folder = Path(tempfile.mkdtemp())
engine = create_engine(f"sqlite:///{folder / 'library.db'}")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Book).values(title="The Lantern Map", year=2019, copies=3))
desk = Session(engine)
web = Session(engine)

# %% [markdown]
# The desk session loads the book. Which session is `lantern` attached to?
#
# Expect: 1 SELECT
# Expect: prints 'attached to the desk? True'

# %% The desk loads the book
lantern = desk.get(Book, 1)
print("attached to the desk?", inspect(lantern).session is desk)

# %% [markdown] tags=["after"]
# `lantern` now belongs to `desk`: an object is attached to at most one session at a time.

# %% [markdown]
# The web session wants to work with the same book. `web.add(lantern)` would raise
# `InvalidRequestError: Object '<Book ...>' is already attached to session '...' (this is '...')`.
# `web.merge(lantern)` is the way. Predict: `web_copy is lantern`?
#
# Expect: 1 SELECT
# Expect: object web_copy == Book#2
# Expect: prints 'same object? False | lantern still at the desk? True'

# %% Merge into a second session
web_copy = web.merge(lantern)
print("same object?", web_copy is lantern, "| lantern still at the desk?", inspect(lantern).session is desk)

# %% [markdown] tags=["after"]
# No. The web session looks up primary key 1 in its own identity map, finds nothing, loads the
# row (one SELECT), copies `lantern`'s values onto its own object and returns that. Two sessions,
# two objects (lesson 22).

# %% [markdown]
# Now the desk closes, and we try `web.add(lantern)`. Predict the state of `lantern`, what
# happens, and the SQL.
#
# Expect: 1 ROLLBACK, 0 SELECT
# Expect: state Book#1 detached
# Expect: raises InvalidRequestError

# %% Add a detached object tags=["raises-exception"]
desk.close()
try:
    web.add(lantern)
except InvalidRequestError as error:
    print("InvalidRequestError:", str(error).split("; ")[1])

# %% [markdown] tags=["after"]
# Closing the desk sent its ROLLBACK, and `lantern` is detached (lesson 6). The web session already
# holds an object with the key `(Book, (1,))`, `web_copy`, and one session never has two objects
# for one row. `InvalidRequestError`: "another instance with key ... is already present in this
# session". No SELECT.

# %% [markdown]
# An API payload: a new, **transient** `Book` with `id=1`, the title and a new number of copies,
# built from JSON that did not mention the year. `add` would treat it as new and send an INSERT,
# which fails on the primary key. We merge it and commit instead: predict the SQL (which columns
# does the UPDATE set?), and the payload's state afterwards.
#
# Expect: 0 SELECT, 1 UPDATE (flush), 1 COMMIT
# Expect: state Book#3 transient

# %% Merge an API payload tags=["exercise"] check="update == 1; commit == 1; state Book#3 transient; prints 'merged is web_copy? True | payload transient? True'; row book id=1 copies == 5" task="Apply the API's payload for book 1 (copies=5) to the web session's copy and commit, leaving the payload itself untouched." hint="merge() copies the payload onto the session's own object and returns that object; the payload itself stays out of the session."
payload = Book(id=1, title="The Lantern Map", copies=5)
merged = web.merge(payload)
print("merged is web_copy?", merged is web_copy, "| payload transient?", inspect(payload).transient)
web.commit()

# %% [markdown] tags=["after"]
# `merge` copies its values onto `web_copy` (found in the identity map: no SELECT) and marks it
# dirty; the commit sends the UPDATE. The payload object itself stays transient.
#
# But look at the UPDATE: it sets `year` as well as `copies`, the year to `None`. The payload's
# `year` was never sent; it is `None` only because that is the field's default, and `merge` copies
# it all the same. The database panel shows the year of book 1 gone. `merge` is for a **whole** object, never for
# a partial update.

# %% [markdown]
# The PATCH pattern of the SQLModel tutorial: validate the JSON into `BookUpdate` (every field
# optional), keep only the fields the client really sent with `model_dump(exclude_unset=True)`,
# `get` the row and copy those fields onto it with `sqlmodel_update`. The JSON here is
# `{"year": 2019}`, to put the year back. Predict the dictionary and the SQL.
#
# Expect: 1 SELECT (load expired), 1 UPDATE (flush), 1 COMMIT

# %% PATCH with exclude_unset
patch = BookUpdate.model_validate_json('{"year": 2019}')
changes = patch.model_dump(exclude_unset=True)
print("sent:", changes, "| all fields:", patch.model_dump())
book = web.get(Book, 1)
book.sqlmodel_update(changes)
web.commit()

# %% [markdown] tags=["after"]
# `exclude_unset=True` leaves out every field the JSON did not contain, so `changes` is only
# `{'year': 2019}` while `model_dump()` would also say `title: None` and `copies: None`. The UPDATE
# sets `year` alone, and the title and copies stay as they were. (`get` finds `web_copy` in the
# identity map; the SELECT reloads it because the last commit expired it.)

# %% [markdown]
# To **copy** a row, take a loaded object out of its identity with `make_transient(obj)`. Clear
# the id, change the title, `add` it and commit, then read the new id. Predict the SQL.
#
# Expect: 1 INSERT (flush), 1 COMMIT, 1 SELECT (load expired)

# %% Copy a row with make_transient
make_transient(lantern)
lantern.id = None
lantern.title = "The Lantern Map (large print)"
web.add(lantern)
web.commit()
print("new id:", lantern.id)

# %% [markdown] tags=["after"]
# `make_transient` made `lantern` transient: it keeps its loaded values and forgets its key, so
# the commit INSERTs a new row. (`lantern` was detached but still loaded, so this works;
# `make_transient` drops *expired* attributes, so an expired object would lose them.) Reading the
# new id after the commit loads the expired copy again: one SELECT.

# %% [markdown]
# `web.expunge_all()` detaches every object of the session and empties its identity map. Then we
# `get` book 1 again, and a last query lists the titles. Predict the SQL, and whether `get`
# returns `web_copy`. Then we close the session and remove the database file.
#
# Expect: 2 SELECT, 0 UPDATE
# Expect: object again == Book#4

# %% expunge_all
web.expunge_all()
print("web_copy detached?", inspect(web_copy).detached)
again = web.get(Book, 1)
print("a new object?", again is not web_copy, "| copies:", again.copies)
print("titles:", web.exec(select(Book.title).order_by(Book.id)).all())
web.close()
engine.dispose()
shutil.rmtree(folder)

# %% [markdown] tags=["after"]
# `expunge_all` itself sends no SQL. Afterwards `get` cannot answer from memory and sends a SELECT,
# returning a new object. The last query lists the original and its copy.
