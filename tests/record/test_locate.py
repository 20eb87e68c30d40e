"""The cause rules' lookups that are remembered between statements give the same answers as
looking each time."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine, event, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sqlecho._record import locate


class _Base(DeclarativeBase):
    pass


class _Hero(_Base):
    __tablename__ = "hero"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def _label(_obj: object) -> str:
    return "Hero#1"


def test_a_savepoint_is_a_savepoint_after_thousands_of_other_texts() -> None:
    # More distinct texts than the remembered ones: the answer must not depend on the memory.
    for n in range(3 * locate._SAVEPOINTS_KEPT):
        assert locate.cause_of(f"SELECT {n}", [], "execute", _label) == "execute"
    assert locate.cause_of("SAVEPOINT sa_savepoint_9", [], "execute", _label) == "savepoint"
    assert locate.cause_of("  release savepoint sa_savepoint_9", [], "query", _label) == "savepoint"
    assert locate.cause_of("ROLLBACK TO SAVEPOINT sa_savepoint_9", [], "execute", _label) == "savepoint"
    assert locate.cause_of("ROLLBACK", [], "execute", _label) == "execute"
    assert len(locate._SAVEPOINTS) <= locate._SAVEPOINTS_KEPT


def test_statement_kinds_stay_apart_when_they_alternate() -> None:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    causes: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def cause(_conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool) -> None:
        causes.append(locate.statement_cause(context))

    with Session(engine) as session:
        for _ in range(2):
            session.execute(select(_Hero))
            session.execute(update(_Hero).values(name="B"))
            session.execute(text("SELECT 1"))
    assert causes == ["query", "bulk update", "execute"] * 2


def test_a_compile_state_subclass_gets_its_base_class_cause() -> None:
    kind, cause = locate._STATEMENT_KINDS[-1]  # the ORM select's: "query"
    subclass = type("Custom", (kind,), {})
    context = SimpleNamespace(isddl=False, compiled=SimpleNamespace(compile_state=object.__new__(subclass)))
    assert locate.statement_cause(context) == cause == "query"
    assert locate.statement_cause(context) == "query"  # remembered: the same answer
    plain = SimpleNamespace(isddl=False, compiled=SimpleNamespace(compile_state=object()))
    assert locate.statement_cause(plain) == "execute"
    assert locate.statement_cause(SimpleNamespace(isddl=True)) == "ddl"
