"""Object labels: kept on the InstanceState, and as stable as the state itself."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sqlecho._record.objects import ObjectRegistry


class _Base(DeclarativeBase):
    pass


class _Pet(_Base):
    __tablename__ = "pet"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def test_a_label_survives_expunge_and_a_new_session() -> None:
    registry = ObjectRegistry()
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    pet = _Pet(name="Rex")
    assert registry.label(pet) == "_Pet#1"
    with Session(engine) as session:
        session.add(pet)
        session.commit()
        session.expunge(pet)
    assert registry.label(pet) == registry.label(inspect(pet)) == "_Pet#1"
    with Session(engine) as other:
        other.add(pet)
        assert registry.label(pet) == "_Pet#1"


def test_merge_makes_a_new_object_with_a_new_label() -> None:
    registry = ObjectRegistry()
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(_Pet(id=1, name="Rex"))
        session.commit()
    copy = _Pet(id=1, name="Max")
    assert registry.label(copy) == "_Pet#1"
    with Session(engine) as session:
        merged = session.merge(copy)
        assert merged is not copy
        assert registry.label(merged) == "_Pet#2"
        assert registry.label(copy) == "_Pet#1"
    assert registry.labels_of([merged, copy]) == ["_Pet#1", "_Pet#2"]


def test_two_registries_label_the_same_object_each_their_own_way() -> None:
    first, second = ObjectRegistry(), ObjectRegistry()
    rex, max_ = _Pet(name="Rex"), _Pet(name="Max")
    assert first.label(rex) == "_Pet#1"
    assert second.label(max_) == "_Pet#1"
    assert second.label(rex) == "_Pet#2"  # not the first registry's label, kept on the state
    assert first.label(rex) == "_Pet#1"  # nor the second's
    assert second.label(rex) == "_Pet#2"
    assert first.label(max_) == "_Pet#2"
