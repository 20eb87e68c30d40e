# %% [markdown]
# # IntegrityError from a unique constraint
#
# A unique column (`Field(unique=True)`) lets the *database* refuse a second row with the same
# value. The ORM does not check it for you: you learn about a duplicate only when the INSERT
# fails, at flush time, with an `IntegrityError`. This lesson shows that error and three ways to
# live with it: get-or-create, a savepoint per row, and the database's `INSERT ... ON CONFLICT`
# upsert.
#
# Shows: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "INSERT...ON CONFLICT (Upsert)" for SQLite,
# https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#insert-on-conflict-upsert

# %% Setup
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Genre(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    shelf: str = "A"


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Genre).values(name="Poetry", shelf="P"))
session = Session(engine)

# %% [markdown]
# Look at the `CREATE TABLE` of the setup: `UNIQUE (name)`. Now add a second "Poetry" and commit.
# Predict the SQL, and where it fails.
#
# Expect: 1 INSERT (flush), 1 ROLLBACK, 0 COMMIT
# Expect: raises IntegrityError
# Expect: line insert == 'session.commit()'

# %% A duplicate name tags=["raises-exception"]
session.add(Genre(name="Poetry"))
try:
    session.commit()
except IntegrityError as error:
    print("IntegrityError:", error.orig)
    session.rollback()

# %% [markdown] tags=["after"]
# `add` accepts it; the INSERT at the flush fails, SQLAlchemy rolls back, and the commit raises
# `IntegrityError`. As in lesson 15, the session then needs `session.rollback()` before it can be
# used again.

# %% [markdown]
# **Get-or-create**: look first, insert only what is missing. Predict the SQL for "Poetry", which
# exists, and for "Mystery", which does not. (We flush without committing, so that the next step
# runs in the same transaction.)
#
# Expect: 2 SELECT, 1 INSERT (flush)

# %% Get or create tags=["exercise"] check="insert == 1; select >= 2; raises nothing; prints '[1, 2]'" task="Write get_or_create so that it returns the existing genre when the name is taken and creates it otherwise." hint="Look the row up first and insert it only when it is missing: no IntegrityError."


def get_or_create(name: str) -> Genre:
    genre = session.exec(select(Genre).where(Genre.name == name)).first()
    if genre is None:
        genre = Genre(name=name)
        session.add(genre)
        session.flush()
    return genre


print([get_or_create(name).id for name in ["Poetry", "Mystery"]])

# %% [markdown] tags=["after"]
# "Poetry" is found (one SELECT), "Mystery" is not (a SELECT, then an INSERT at the flush).
# Simple, but not safe under concurrency: two requests can both see "not there" and both insert,
# and then one of them gets the `IntegrityError` anyway. Hence the next step. (On PostgreSQL it
# prints `[1, 3]`: the failed INSERT of the first step had already taken id 2 from the table's
# sequence, and a rollback does not give a sequence number back.)

# %% [markdown]
# **A savepoint per row** (lesson 16): try each INSERT inside `begin_nested()`. A duplicate rolls
# back only its own savepoint (`ROLLBACK TO SAVEPOINT`), and the rest of the transaction, with
# the other rows, carries on. Predict which names fail. Then we commit.
#
# > **SQLite note:** this is safe here because the INSERT of the step before already opened a
# > real transaction. Lesson 16 shows the `sqlite3` driver trap when a savepoint comes first.
#
# Expect: 4 SAVEPOINT, 4 INSERT, 2 RELEASE, 2 ROLLBACK TO, 1 COMMIT
# Expect: rows genre == 4
# Expect: prints 'skipped Mystery (already there)'

# %% A savepoint per row
for name in ["Travel", "Mystery", "History", "Travel"]:
    try:
        with session.begin_nested():
            session.add(Genre(name=name))
        print("added", name)
    except IntegrityError:
        print("skipped", name, "(already there)")
session.commit()

# %% [markdown] tags=["after"]
# "Mystery" (from the step before) and the second "Travel".

# %% [markdown] tags=["sqlite-only"]
# **An upsert** lets the database decide, in one statement. SQLite (like PostgreSQL) has
# `INSERT ... ON CONFLICT (name) DO NOTHING`: rows whose name exists are silently skipped.
# SQLAlchemy builds it with the *dialect's* `insert`, here `sqlalchemy.dialects.sqlite.insert`.
# Predict the SQL, and how many rows are inserted.
#
# Expect: 1 INSERT, 1 COMMIT

# %% Upsert: do nothing tags=["sqlite-only"]
names = [{"name": "Poetry"}, {"name": "Science"}, {"name": "Mystery"}]
result = session.execute(sqlite_insert(Genre).values(names).on_conflict_do_nothing(index_elements=["name"]))
print("rows inserted:", result.rowcount)
session.commit()

# %% [markdown] tags=["postgresql-only"]
# **An upsert** lets the database decide, in one statement. PostgreSQL (like SQLite) has
# `INSERT ... ON CONFLICT (name) DO NOTHING`: rows whose name exists are silently skipped.
# SQLAlchemy builds it with the *dialect's* `insert`, here `sqlalchemy.dialects.postgresql.insert`.
# Predict the SQL, and how many rows are inserted.
#
# Expect: 1 INSERT, 1 COMMIT

# %% Upsert: do nothing tags=["postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    names = [{"name": "Poetry"}, {"name": "Science"}, {"name": "Mystery"}]
    upsert = postgresql_insert(Genre).values(names).on_conflict_do_nothing(index_elements=["name"])
    # Here the driver reports no row count (-1): RETURNING names the rows that were inserted.
    result = session.execute(upsert.returning(Genre.name))
    print("rows inserted:", result.scalars().all())
    session.commit()

# %% [markdown] tags=["after"]
# One INSERT statement: no `IntegrityError`, no savepoints. Only "Science" is new, so one row is
# inserted.

# %% [markdown]
# `on_conflict_do_update` turns the conflict into an UPDATE instead: `DO UPDATE SET shelf =
# excluded.shelf`, where `excluded` is the row that could not be inserted. Predict the SQL: is an
# UPDATE statement sent? The last query lists every genre with its shelf.
#
# > **SQLite note:** PostgreSQL has the same two methods in `sqlalchemy.dialects.postgresql`;
# > MySQL spells it `on_duplicate_key_update` (`INSERT ... ON DUPLICATE KEY UPDATE`).
#
# Expect: 1 INSERT, 1 COMMIT, 0 UPDATE

# %% Upsert: do update tags=["sqlite-only"]
upsert = sqlite_insert(Genre).values([{"name": "Poetry", "shelf": "Q"}, {"name": "Drama", "shelf": "D"}])
session.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"shelf": upsert.excluded.shelf}))
session.commit()
print(session.exec(select(Genre.name, Genre.shelf).order_by(Genre.name)).all())
session.close()

# %% Upsert: do update tags=["postgresql-only"]
if engine.dialect.name == "postgresql":  # `python FILE` runs every cell, on SQLite
    upsert = postgresql_insert(Genre).values(
        [{"name": "Poetry", "shelf": "Q"}, {"name": "Drama", "shelf": "D"}]
    )
    session.execute(
        upsert.on_conflict_do_update(index_elements=["name"], set_={"shelf": upsert.excluded.shelf})
    )
    session.commit()
    print(session.exec(select(Genre.name, Genre.shelf).order_by(Genre.name)).all())
    session.close()

# %% [markdown] tags=["after"]
# One INSERT statement does both jobs, with no UPDATE statement: Poetry moves to shelf "Q", and
# the new "Drama" is inserted.
