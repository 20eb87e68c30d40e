# %% [markdown]
# # The connection pool: leaked sessions and "QueuePool limit reached"
#
# An engine keeps a **pool** of database connections. A session borrows one the first time its
# transaction needs the database (lesson 32), not at an `add`, and gives it back when the transaction ends: at `commit()`, `rollback()` or
# `close()`. A session that is never closed keeps its connection, and once every connection is
# lent out, the next request waits, then fails with "QueuePool limit of size 5 overflow 10
# reached". This lesson makes the pool tiny (2 connections, no overflow, a wait of a fifth of a
# second) to show that failure in three steps, and the habits that prevent it.
#
# > **SQLite note:** for a database *file*, SQLAlchemy uses a `QueuePool`, as for PostgreSQL and
# > MySQL, so this lesson uses a file in a temporary folder. For `sqlite://` it keeps one
# > connection per thread instead, and no limit is ever reached.
#
# Expect: 1 CREATE, 1 INSERT
#
# Further reading: SQLAlchemy, "Connection Pooling",
# https://docs.sqlalchemy.org/en/20/core/pooling.html

# %% Setup
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import exc, insert
from sqlmodel import Field, Session, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str


folder = Path(tempfile.mkdtemp())
engine = create_engine(f"sqlite:///{folder / 'library.db'}", pool_size=2, max_overflow=0, pool_timeout=0.2)
SQLModel.metadata.create_all(engine)
with engine.begin() as connection:
    connection.execute(insert(Book).values(title="The Lantern Map"))

# %% [markdown]
# Two requests each open a session, read the book, and forget to close it (the list `forgotten`
# stands for whatever keeps them alive: a global, a cache, a long-running task). Predict the SQL
# and the pool's status.
#
# Expect: 2 BEGIN, 2 SELECT (get)

# %% Two requests forget to close
forgotten = []
for _request in range(2):
    session = Session(engine)
    session.get(Book, 1)
    forgotten.append(session)
print(engine.pool.status())

# %% [markdown] tags=["after"]
# Each `get` began a transaction, and each transaction holds a connection: "Checked out
# connections: 2", none left in the pool. Nothing has failed yet.

# %% [markdown]
# A third request wants the same book. Predict what happens, and the SQL.
#
# Expect: 0 SELECT
# Expect: raises TimeoutError

# %% The third request tags=["raises-exception"]
try:
    Session(engine).get(Book, 1)
except exc.TimeoutError as error:
    print("TimeoutError:", str(error).split(" (Background")[0])

# %% [markdown] tags=["after"]
# The session asked the pool for a connection, waited `pool_timeout` (0.2 seconds here, 30 by
# default) for one to come back, and gave up: `TimeoutError: QueuePool limit of size 2 overflow 0
# reached`. No SQL was sent. In a web app this is the request that hangs for 30 seconds and then
# fails, while the code at fault ran long before.

# %% [markdown]
# Close the forgotten sessions. Predict the SQL, and the pool's status.
#
# Expect: 2 ROLLBACK

# %% Close them
for session in forgotten:
    session.close()
print(engine.pool.status())

# %% [markdown] tags=["after"]
# Closing ends each transaction with a ROLLBACK (they had nothing to commit) and gives the
# connection back: "Connections in pool: 2". The habit that prevents the leak is
# `with Session(engine) as session:`, which closes even when the block raises; FastAPI's
# dependency with `yield` does the same for each request.

# %% [markdown]
# Does a session keep its connection after `commit()`? We add a book and commit, print how many
# connections are checked out, then read the title and print it again.
#
# Expect: 1 INSERT (flush), 1 COMMIT, 1 SELECT (load expired)

# %% A connection per transaction
session = Session(engine)
atlas = Book(title="Atlas of Rain")
session.add(atlas)
session.commit()
print("checked out after the commit:", engine.pool.checkedout())
print("title:", atlas.title)
print("checked out after the read:", engine.pool.checkedout())

# %% [markdown] tags=["after"]
# 0 after the commit: the commit ended the transaction and returned the connection. Reading the
# expired title began a new transaction, which borrowed a connection again: 1. A session that is
# kept open "just to read" still holds a connection for as long as that transaction lasts.

# %% [markdown]
# Close that session too. Then `pool_pre_ping=True`, which many deployment guides recommend: a
# database server that restarted, or a firewall that dropped an idle connection, leaves dead
# connections in the pool, and the first request to borrow one fails. With pre-ping, the pool
# tests each connection as it lends it out and quietly replaces a dead one. Predict the SQL that
# the test adds to this `get`.
#
# Expect: 2 ROLLBACK, 1 SELECT (get)

# %% pool_pre_ping
session.close()
pinging = create_engine(f"sqlite:///{folder / 'library.db'}", pool_pre_ping=True)
with Session(pinging) as session:
    print("title:", session.get(Book, 1).title)

# %% [markdown] tags=["after"]
# Nothing you can see. Here there was not even a ping: the pool had just opened this connection,
# and a fresh connection is not tested. A connection that waited in the pool is, with a
# `SELECT 1` (on most databases) sent straight to the driver's connection, outside SQLAlchemy's
# statement logging, so neither echo nor sqlecho would show it either. The two ROLLBACKs come
# from closing the two sessions, each of whose reads had begun a transaction.

# %% [markdown]
# Your turn: serve three requests in a row with the small pool, each in its own
# `with Session(engine) as session:` block, and print each title. No request may wait.
#
# Expect: 3 SELECT (get), 3 ROLLBACK

# %% Three requests that close tags=["exercise"] check="select == 3; rollback == 3; raises nothing" task="Serve three requests one after another with the pool of two connections, each in a session that closes, and print each title." hint="A with Session(engine) as session: block gives the connection back at its end, so two connections serve any number of requests one after another."
for _request in range(3):
    with Session(engine) as session:
        print("title:", session.get(Book, 1).title)
engine.dispose()
pinging.dispose()
shutil.rmtree(folder)

# %% [markdown] tags=["after"]
# Each block ended its transaction with a ROLLBACK as it closed, and returned the connection for
# the next request. Then we dispose of both engines and remove the temporary folder.
