"""How long a reader waits for a first transcript on PostgreSQL, with warm workers and databases.

The same request as the runner part (a small lesson, sandbox included), on a database of its own
made ahead of time from the template, as a server that runs lessons on PostgreSQL keeps a few.
The run's database is dropped after the request, outside the measured time (the app drops it in
the background). The server is the private cluster of :mod:`sqlecho._sandbox.postgres` (started
in a scratch folder and removed after), or ``SQLECHO_POSTGRES_URL``'s.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .runner import _wait_warm
from .stats import Figure, median, percentile, unavailable

__all__ = ["FIGURES", "PostgresPlan", "measure_postgres"]

FIGURES = ["postgres_first_trace_ms_p50", "postgres_first_trace_ms_p95", "postgres_database_ms_p50"]
_WARM_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PostgresPlan:
    samples: int = 20
    """Warm requests measured (after one unmeasured)."""


def measure_postgres(folder: Path, source: str, plan: PostgresPlan) -> list[Figure]:
    """postgres_first_trace_ms_p50/p95, and how long taking a ready database takes."""
    try:
        import psycopg  # noqa: F401 - only to say plainly when the driver is missing

        from sqlecho._sandbox.pool import WorkerPool
        from sqlecho._sandbox.postgres import (
            PostgresCluster,
            PostgresUnavailable,
            RunDatabases,
            connector,
            from_url,
        )
        from sqlecho._sandbox.runner import run_sandboxed
    except ImportError as exc:
        return unavailable(FIGURES, f"PostgreSQL runs are not available ({exc})")
    from sqlecho._trace.options import TraceOptions

    cluster = None
    try:
        url = os.environ.get("SQLECHO_POSTGRES_URL", "").strip()
        if url:
            conninfo, socket_dir, host, port = from_url(url)
            databases = RunDatabases(connector(conninfo), socket_dir, spare=2, host=host, port=port)
        else:
            cluster = PostgresCluster(folder / "postgres")
            cluster.start()
            databases = RunDatabases(
                connector(cluster.admin_conninfo), str(cluster.socket_dir), spare=2, private=True
            )
    except PostgresUnavailable as exc:
        return unavailable(FIGURES, str(exc))
    try:
        return _measure(folder, source, plan, databases, WorkerPool, run_sandboxed, TraceOptions)
    finally:
        databases.close()
        if cluster is not None:
            cluster.remove()


def _measure(
    folder: Path, source: str, plan: PostgresPlan, databases: Any, pool_type: Any, run: Any, options_type: Any
) -> list[Figure]:
    path = folder / "first_lesson_postgres.py"
    path.write_text(source, encoding="utf-8")
    version = databases.version()
    taken: list[float] = []
    traced: list[float] = []
    sockets = (Path(databases.socket_dir),) if databases.socket_dir else ()
    with pool_type(2, folders=(folder,), sockets=sockets) as pool:
        databases.release(databases.acquire())  # makes the template and starts the spares
        for number in range(plan.samples + 1):
            _wait_warm(pool, time.monotonic() + _WARM_TIMEOUT_S)
            _wait_spares(databases, time.monotonic() + _WARM_TIMEOUT_S)
            started = time.perf_counter()
            database = databases.acquire()
            got = time.perf_counter()
            options = replace(options_type(), database_url=database.url(), database_version=version)
            transcript = run(source, path, options, path.name, pool=pool)
            elapsed = (time.perf_counter() - started) * 1000
            databases.release(database)
            if transcript["status"] != "ok":
                raise RuntimeError(
                    f"the benchmark lesson did not trace cleanly on PostgreSQL: {transcript['status']}"
                )
            if number:
                taken.append((got - started) * 1000)
                traced.append(elapsed)
    details = {"server": f"PostgreSQL {version}", "samples_ms": [round(value, 1) for value in traced]}
    return [
        Figure("postgres_first_trace_ms_p50", round(median(traced), 1), details=details),
        Figure("postgres_first_trace_ms_p95", round(percentile(traced, 95), 1)),
        Figure("postgres_database_ms_p50", round(median(taken), 2)),
    ]


def _wait_spares(databases: Any, deadline: float) -> None:
    """Until the databases made ahead are ready and none is being made, as a reader arriving a
    few seconds after the last one finds them."""
    while (len(databases._ready) < databases.spare or databases._filling) and time.monotonic() < deadline:
        time.sleep(0.01)
