"""scoped_session, an ORM event listener that issues SQL, no_autoflush and expunge_all."""

from sqlalchemy import event
from sqlalchemy.orm import scoped_session, sessionmaker
from sqlmodel import Field, SQLModel, create_engine, select


class Task(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    done: bool = False


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message: str


engine = create_engine("sqlite://", echo=True)
SQLModel.metadata.create_all(engine)
Session = scoped_session(sessionmaker(engine))


@event.listens_for(Task, "after_insert")
def audit(mapper, connection, target):
    connection.execute(AuditLog.__table__.insert().values(message=f"created {target.title}"))


Session.add(Task(title="write"))
with Session.no_autoflush:
    print(len(Session.execute(select(Task)).all()))
Session.commit()
Session.expunge_all()
print([log.message for log in Session.scalars(select(AuditLog))])
Session.remove()
