# %% [markdown]
# Savepoints with begin_nested, in cell format.

# %% Setup
from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    owner: str
    balance: int = 0


engine = create_engine("sqlite://", echo=True)


@event.listens_for(engine, "connect")
def _no_pysqlite_begin(dbapi_connection, _record):
    dbapi_connection.isolation_level = None


@event.listens_for(engine, "begin")
def _emit_begin(connection):
    connection.exec_driver_sql("BEGIN")


SQLModel.metadata.create_all(engine)
session = Session(engine)

# %% Outer work
session.add(Account(owner="ada", balance=10))
session.flush()

# %% Nested, rolled back
nested = session.begin_nested()
session.add(Account(owner="bob", balance=5))
session.flush()
nested.rollback()

# %% Nested, kept
with session.begin_nested():
    session.add(Account(owner="cy", balance=7))

# %% Commit
session.commit()
print(sorted(a.owner for a in session.exec(select(Account)).all()))
session.close()
