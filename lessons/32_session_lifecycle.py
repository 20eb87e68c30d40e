# %% [markdown]
# # When does a session's transaction begin and end?
#
# You never call `begin()` on a session, and yet its SQL runs inside transactions: the session
# **autobegins** one the first time you use it (a `get`, a query, even an `add`), and `commit()`,
# `rollback()` or `close()` ends it. Most lifecycle errors come from not knowing where that transaction is:
# "A transaction is already begun on this Session", "Can't operate on closed transaction inside
# context manager". This lesson provokes both and shows the form that avoids them,
# `with Session(engine) as session, session.begin():`.
#
# Expect: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Managing Transactions",
# https://docs.sqlalchemy.org/en/20/orm/session_transaction.html

# %% Setup
from sqlalchemy import insert
from sqlalchemy.exc import InvalidRequestError
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Book).values(title="The Lantern Map"))

# %% [markdown]
# A new session, then a `get`. Is there a transaction before the `get`? After it? Predict the
# two printed answers and the SQL.
#
# Expect: 1 BEGIN, 1 SELECT
# Expect: prints 'in a transaction before: False'
# Expect: prints 'in a transaction after: True'

# %% Autobegin
session = Session(engine)
print("in a transaction before:", session.in_transaction())
lantern = session.get(Book, 1)
print("in a transaction after:", session.in_transaction())

# %% [markdown] tags=["after"]
# `False`, then `True`. Creating a session sends nothing. The `get` was its first use, so the
# session began a transaction on its own, and, since the `get` needed the database, one on a
# connection too (the `BEGIN (implicit)`). It stays open until something ends it. This is **autobegin**.

# %% [markdown]
# Code written from an older tutorial often calls `session.begin()` itself, here after the
# `get`. Predict what happens.
#
# Expect: no SQL
# Expect: raises InvalidRequestError

# %% begin() on top of autobegin tags=["raises-exception"]
try:
    session.begin()
except InvalidRequestError as error:
    print("InvalidRequestError:", error)

# %% [markdown] tags=["after"]
# "A transaction is already begun on this Session": the `get` began it. `begin()` only starts a
# transaction when there is none; it does not nest (that is `begin_nested()`, lesson 16). The
# session is unharmed, and its transaction is still open.

# %% [markdown]
# End the transaction with `commit()`, and then `begin()` works, as a context manager that
# commits at the end of its block. Predict the transaction events.
#
# Expect: 2 COMMIT, 1 INSERT (flush)

# %% Commit, then begin
session.commit()
print("in a transaction:", session.in_transaction())
with session.begin():
    session.add(Book(title="A Quiet Orbit"))
print("in a transaction after the block:", session.in_transaction())
session.close()

# %% [markdown] tags=["after"]
# The first COMMIT ends the autobegun transaction. `with session.begin():` starts a new one, and
# at the end of the block it flushes (the INSERT) and commits. Between the two, and after the
# block, no transaction is open.

# %% [markdown]
# The form the SQLAlchemy docs recommend puts both on one line: a session that closes at the end,
# and a transaction that commits at the end, or rolls back if the block raises. Here the block
# flushes a book, then fails. Predict the SQL, and whether the book stays.
#
# Expect: 1 INSERT (flush), 0 COMMIT, 1 ROLLBACK
# Expect: rows book == 2

# %% An error inside the block tags=["raises-exception"]
try:
    with Session(engine) as session, session.begin():
        session.add(Book(title="Paper Moons"))
        session.flush()
        raise ValueError("the shelf is full")
except ValueError as error:
    print("ValueError:", error)

# %% [markdown] tags=["after"]
# The INSERT was sent, but the error left the `begin()` block, which rolled the transaction back:
# the database panel shows no "Paper Moons". Then the session closed. No `try`/`rollback` of your
# own is needed.

# %% [markdown]
# Inside such a block, the transaction belongs to the block. What if the code in it calls
# `commit()` itself, and then goes on to use the session?
#
# Expect: 1 INSERT (flush), 1 COMMIT, 0 SELECT

# %% commit() inside the block tags=["raises-exception"]
with Session(engine) as session, session.begin():
    session.add(Book(title="Paper Moons"))
    session.commit()
    try:
        session.exec(select(Book)).all()
    except InvalidRequestError as error:
        print("InvalidRequestError:", error)

# %% [markdown] tags=["after"]
# The `commit()` did commit (the INSERT and the COMMIT), but it also closed the block's
# transaction, and the session refuses to begin another one inside the block: "Can't operate on
# closed transaction inside context manager". Leave the commit to the block, or use a plain
# `with Session(engine) as session:` and call `commit()` yourself.

# %% [markdown]
# Your turn: list the titles in one `with Session(engine) as session, session.begin():` block.
# Predict the transaction events: does a block that only reads still commit?
#
# Expect: 1 SELECT (query), 1 COMMIT

# %% List the titles tags=["exercise"] check="select == 1; commit == 1; raises nothing; prints 'titles: The Lantern Map, A Quiet Orbit, Paper Moons'" task="List every title inside one with Session(engine) as session, session.begin(): block." hint="Put the query inside a with Session(engine) as session, session.begin(): block; the block commits at its end, even when it only read."
with Session(engine) as session, session.begin():
    print("titles:", ", ".join(session.exec(select(Book.title).order_by(Book.id)).all()))

# %% [markdown] tags=["after"]
# It does: one SELECT, one COMMIT. A transaction that only read has nothing to keep, but ending
# it with COMMIT is the normal way out of a `begin()` block.
