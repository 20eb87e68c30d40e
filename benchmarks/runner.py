"""How long a reader waits for a first transcript, sandbox included, and what warm workers cost.

"Warm" is what the app gives a reader: a spare worker that has already imported SQLAlchemy is
waiting when the request comes. Each request consumes its worker (one program per interpreter)
and the pool starts a replacement; the benchmark waits until that replacement is warm before the
next request, as a reader arriving a few seconds later would find it. "Cold" starts a worker for
the request itself: the first reader after a server start with an empty pool.
"""

from __future__ import annotations

import select
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stats import Figure, children_by_parent, median, percentile, rss_mib, unavailable

__all__ = ["RunnerPlan", "measure_first_trace", "process_tree_mib"]

_NAMES = ["first_trace_ms_p50", "first_trace_ms_p95", "cold_trace_ms", "worker_rss_mib", "parent_rss_mib"]
_WARM_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunnerPlan:
    samples: int = 30
    """Warm requests measured (after one unmeasured)."""
    cold_samples: int = 5


def _pss_mib(pid: int) -> float | None:
    """Proportional set size: shared pages divided among the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return rss_mib(pid)
    return rss_mib(pid)


def process_tree_mib(pid: int) -> float | None:
    """Memory (PSS where readable, else RSS) of ``pid`` and all its descendants, in MiB."""
    children = children_by_parent()
    total, found, todo = 0.0, False, [pid]
    while todo:
        current = todo.pop()
        value = _pss_mib(current)
        if value is not None:
            total, found = total + value, True
        todo.extend(children.get(current, []))
    return round(total, 1) if found else None


def _wait_warm(pool: Any, deadline: float) -> None:
    """Until the pool's spares are started and have said "ready" (imports done).

    A warm worker writes its "ready" line on its result pipe before it waits for a job; a pipe
    with data to read is a warm worker. Peeking with select() leaves the line for the runner.
    """
    pool.wait_ready(max(0.0, deadline - time.monotonic()))
    for worker in list(getattr(pool, "_spares", [])):
        remaining = deadline - time.monotonic()
        if remaining > 0:
            select.select([worker.results], [], [], remaining)


def measure_first_trace(folder: Path, source: str, plan: RunnerPlan) -> list[Figure]:
    """first_trace_ms_p50/p95 (warm), cold_trace_ms, and the memory of workers and parent."""
    try:
        from sqlecho._sandbox.launch import sandbox_status
        from sqlecho._sandbox.pool import WorkerPool
        from sqlecho._sandbox.runner import run_sandboxed
    except ImportError as exc:
        return unavailable(_NAMES, f"the sandboxed runner is not available ({exc})")
    from sqlecho._trace.options import TraceOptions

    path = folder / "first_lesson.py"
    path.write_text(source, encoding="utf-8")
    options = TraceOptions()

    def request(pool: Any) -> float:
        started = time.perf_counter()
        transcript = run_sandboxed(source, path, options, path.name, pool=pool)
        elapsed = (time.perf_counter() - started) * 1000
        if transcript["status"] != "ok":
            raise RuntimeError(f"the benchmark lesson did not trace cleanly: {transcript['status']}")
        return elapsed

    cold = [request(None) for _ in range(plan.cold_samples)]
    warm: list[float] = []
    with WorkerPool(2, folders=(folder,)) as pool:
        for number in range(plan.samples + 1):
            _wait_warm(pool, time.monotonic() + _WARM_TIMEOUT_S)
            elapsed = request(pool)
            if number:
                warm.append(elapsed)
        _wait_warm(pool, time.monotonic() + _WARM_TIMEOUT_S)
        spares = list(getattr(pool, "_spares", []))
        workers = [process_tree_mib(worker.popen.pid) for worker in spares]
        parent = rss_mib()
    worker_mib = (
        median([w for w in workers if w is not None]) if any(w is not None for w in workers) else None
    )
    details: dict[str, Any] = {
        "sandbox": sandbox_status(),
        "samples_ms": [round(value, 1) for value in warm],
    }
    return [
        Figure("first_trace_ms_p50", round(median(warm), 1), details=details),
        Figure("first_trace_ms_p95", round(percentile(warm, 95), 1)),
        Figure("cold_trace_ms", round(median(cold), 1), details={"samples_ms": [round(v, 1) for v in cold]}),
        Figure(
            "worker_rss_mib",
            round(worker_mib, 1) if worker_mib is not None else None,
            reason=None if worker_mib is not None else "worker memory not readable from /proc",
            details={"measure": "PSS of the worker's process tree (bwrap included)", "spares": len(spares)},
        ),
        Figure("parent_rss_mib", round(parent, 1) if parent is not None else None, details={"pool_size": 2}),
    ]
