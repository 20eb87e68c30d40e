"""What the unused-eager-load report costs a captured program: relationship reads and loads.

The report switches each relationship attribute that an eager load filled to a subclass that
notes reads, for as long as a capture is open (see ``sqlecho._record.reads``). The worst case is
a program that loads everything up front and reads it over and over: here 2,000 heroes loaded
with ``selectinload`` and again with ``joinedload``, each ``hero.team`` read five times (20,000
reads). The same workload with ``lazyload`` (no eager load: nothing is switched) shows the cost
for everything else. CPU seconds, best of ``repeat``, modes taking turns. Run
``python -m benchmarks.eager``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, ForeignKey, create_engine, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    lazyload,
    mapped_column,
    relationship,
    selectinload,
)

from sqlecho._record.capture import capture

__all__ = ["measure_eager_overhead"]


class _Base(DeclarativeBase):
    pass


class _Team(_Base):
    __tablename__ = "bench_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class _Hero(_Base):
    __tablename__ = "bench_hero"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    team_id: Mapped[int] = mapped_column(ForeignKey("bench_team.id"))
    team: Mapped[_Team] = relationship()


def _engine(heroes: int) -> Engine:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        teams = [_Team(name=f"team {number}") for number in range(50)]
        session.add_all(_Hero(name=f"hero {number}", team=teams[number % 50]) for number in range(heroes))
        session.commit()
    return engine


def _workload(engine: Engine, options: tuple[Callable[..., Any], ...]) -> None:
    for option in options:
        with Session(engine) as session:
            heroes = session.scalars(select(_Hero).options(option(_Hero.team))).all()
            for _ in range(5):
                for hero in heroes:
                    hero.team.name  # noqa: B018 - the read is what is measured


def measure_eager_overhead(heroes: int = 2000, repeat: int = 7) -> dict[str, Any]:
    """Time the eager and the lazy workload bare and inside ``capture()``.

    Returns:
        Seconds per workload and mode (``bare``, ``captured``), best of ``repeat``.
    """
    engine = _engine(heroes)
    workloads = {"eager": (selectinload, joinedload), "lazy": (lazyload,)}
    timings: dict[str, list[float]] = {}
    try:
        for _ in range(repeat):
            for name, options in workloads.items():
                for mode in ("bare", "captured"):
                    gc.collect()
                    started = time.process_time()
                    if mode == "captured":
                        with capture(engine):
                            _workload(engine, options)
                    else:
                        _workload(engine, options)
                    timings.setdefault(f"{name} {mode}", []).append(time.process_time() - started)
    finally:
        engine.dispose()
    return {"heroes": heroes, "seconds": {name: round(min(values), 4) for name, values in timings.items()}}


if __name__ == "__main__":  # pragma: no cover - manual benchmark
    print(measure_eager_overhead())
