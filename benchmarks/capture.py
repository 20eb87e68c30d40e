"""What capturing costs: one ORM workload run bare, with ``echo=True``, and captured.

Times are CPU time of this process, so that other programs on the machine matter
less. ``echo=True`` logs to a ``NullHandler`` here, so that the terminal's speed is not
measured: what remains is SQLAlchemy building its log records, the cost a user already
accepts when they turn echo on. Run ``python -m benchmarks.capture``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sqlecho._record.capture import capture

__all__ = ["measure_capture_overhead"]


class _Base(DeclarativeBase):
    pass


class _Item(_Base):
    __tablename__ = "bench_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def _workload(engine: Engine, rows: int) -> None:
    """``rows`` INSERTs (one flush each) and as many SELECTs, in one transaction."""
    with Session(engine) as session:
        for number in range(rows):
            session.add(_Item(name=f"item {number}"))
            session.flush()
            session.execute(select(_Item.name).where(_Item.id == number + 1)).one()
        session.commit()


@contextlib.contextmanager
def _quiet_echo() -> Iterator[None]:
    """Echo goes to a NullHandler while the block runs; the logger is as it was afterwards.

    ``echo=True`` sets up SQLAlchemy's engine logger (a stdout handler, level INFO) for the
    whole process: left that way, every later engine would print its SQL.
    """
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    handlers, level = logger.handlers[:], logger.level
    try:
        yield
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


def _time(run: Callable[[Engine], None], echo: bool) -> float:
    with _quiet_echo():
        engine = create_engine("sqlite://", echo=echo)
        logging.getLogger("sqlalchemy.engine.Engine").handlers[:] = [logging.NullHandler()]
        try:
            _Base.metadata.create_all(engine)
            gc.collect()
            started = time.process_time()
            run(engine)
            return time.process_time() - started
        finally:
            engine.dispose()


def measure_capture_overhead(rows: int = 2000, repeat: int = 3) -> dict[str, Any]:
    """Time the same workload bare, with echo logging, and inside ``capture()``.

    Args:
        rows: INSERTs in the workload; it sends as many SELECTs.
        repeat: runs per mode; the fastest counts (the others measure the machine).

    Returns:
        Seconds per mode (``none``, ``echo``, ``capture``), the statements the capture
        saw, and ``capture_vs_echo``: capture overhead over echo overhead (<= 1: capture
        costs no more than echo).
    """
    statements = 0

    def captured(engine: Engine) -> None:
        nonlocal statements
        with capture(engine) as cap:
            _workload(engine, rows)
        statements = cap.count()

    modes: dict[str, tuple[Callable[[Engine], None], bool]] = {
        "none": (lambda engine: _workload(engine, rows), False),
        "echo": (lambda engine: _workload(engine, rows), True),
        "capture": (captured, False),
    }
    timings: dict[str, list[float]] = {name: [] for name in modes}
    # Modes take turns, so that a slow moment of the machine does not favour one of them.
    for _ in range(repeat):
        for name, (run, echo) in modes.items():
            timings[name].append(_time(run, echo))
    best = {name: min(values) for name, values in timings.items()}
    echo_cost = best["echo"] - best["none"]
    capture_cost = best["capture"] - best["none"]
    return {
        "rows": rows,
        "statements": statements,
        "seconds": {name: round(value, 4) for name, value in best.items()},
        "capture_vs_echo": round(capture_cost / echo_cost, 2) if echo_cost > 0 else None,
    }


if __name__ == "__main__":  # pragma: no cover - manual benchmark
    print(measure_capture_overhead(repeat=7))
