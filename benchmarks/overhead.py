"""What tracing costs against running the program plainly, and how that cost grows with length.

Everything here runs in this process, so that the three ways of running the reference workload
(plain, ``echo=True`` into a null sink, traced) share one interpreter, one warm import cache and
one moment of the machine. They take turns, round after round, and each round's ratios are
computed from that round's own plain run: a slow second of the machine moves all three together.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import runpy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlecho._trace.isolation import reset_sqlmodel
from sqlecho._trace.tracer import TraceOptions, trace

from .stats import Figure, median
from .workload import cell_lesson, line_script, reference_workload, write_program

__all__ = ["OverheadPlan", "measure_capture", "measure_overhead", "measure_scaling"]


@dataclass(frozen=True)
class OverheadPlan:
    """How much work the in-process figures do."""

    size: int = 150
    """Teams in the reference workload (about 18 statements each: 150 teams send 2,708)."""
    rounds: int = 9
    """Measured rounds of plain, echo and traced runs (after ``warmup`` unmeasured ones)."""
    warmup: int = 2
    scaling_small: int = 20
    """Work cells (cell mode) and loop rounds (line mode) of the smaller program; the larger has 10x."""
    scaling_rounds: int = 5


@dataclass(frozen=True)
class _Timing:
    wall: float
    cpu: float


@contextlib.contextmanager
def _null_echo() -> Iterator[None]:
    """Echo's log records go to a NullHandler: we measure building them, not a terminal's speed."""
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    handlers, propagate = logger.handlers[:], logger.propagate
    logger.handlers[:] = [logging.NullHandler()]
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:] = handlers
        logger.propagate = propagate


def _timed(run: Callable[[], Any]) -> tuple[_Timing, Any]:
    gc.collect()  # garbage of the previous run is not this run's cost
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return _Timing(time.perf_counter() - wall, time.process_time() - cpu), result


def _run_plain(path: Path, pause_gc: bool = False) -> _Timing:
    """``python path`` in this process: a fresh ``__main__``, output swallowed, registry cleared.

    ``pause_gc`` pauses the cyclic garbage collector during the run, as the tracer does (for
    deterministic identity maps): the baseline that isolates the tracer's own work.
    """
    reset_sqlmodel()

    def run() -> dict[str, Any]:
        with contextlib.redirect_stdout(io.StringIO()), _null_echo():
            if pause_gc:
                gc.disable()
            try:
                return runpy.run_path(str(path), run_name="__main__")
            finally:
                gc.enable()

    try:
        timing, namespace = _timed(run)
        engine = namespace.get("engine")
        if engine is not None:
            engine.dispose()
    finally:
        reset_sqlmodel()
    return timing


def _run_traced(path: Path, options: TraceOptions | None = None) -> tuple[_Timing, dict[str, Any]]:
    timing, transcript = _timed(lambda: trace(path, options))
    if transcript["status"] != "ok":
        raise RuntimeError(f"benchmark program {path.name} did not run cleanly: {transcript['status']}")
    return timing, transcript


def _count(transcript: dict[str, Any], kind: str) -> int:
    return sum(1 for step in transcript["steps"] for event in step["events"] if event["kind"] == kind)


def measure_overhead(folder: Path, plan: OverheadPlan) -> list[Figure]:
    """trace_overhead and echo_overhead (wall and CPU time), each against the same round's plain run,
    and trace_overhead_gc_paused against a plain run with the garbage collector paused."""
    plain_path = write_program(folder, "reference.py", reference_workload(plan.size))
    echo_path = write_program(folder, "reference_echo.py", reference_workload(plan.size, echo=True))
    ratios: dict[str, list[float]] = {
        name: [] for name in ("trace", "echo", "trace_cpu", "echo_cpu", "paused")
    }
    plain_ms: list[float] = []
    best: dict[str, float] = {}
    transcript: dict[str, Any] = {}
    for round_number in range(plan.warmup + plan.rounds):
        plain = _run_plain(plain_path)
        echo = _run_plain(echo_path)
        traced, transcript = _run_traced(plain_path)
        paused = _run_plain(plain_path, pause_gc=True)
        if round_number < plan.warmup:
            continue
        plain_ms.append(plain.wall * 1000)
        for name, timing in (("plain", plain), ("echo", echo), ("traced", traced)):
            best[name] = min(best.get(name, timing.wall), timing.wall)
        ratios["trace"].append(traced.wall / plain.wall)
        ratios["echo"].append(echo.wall / plain.wall)
        ratios["trace_cpu"].append(traced.cpu / plain.cpu)
        ratios["echo_cpu"].append(echo.cpu / plain.cpu)
        ratios["paused"].append(traced.wall / paused.wall)
    details = {
        "statements": _count(transcript, "sql"),
        "events": sum(len(step["events"]) for step in transcript["steps"]),
        "plain_ms_median": round(median(plain_ms), 1),
        "rounds": plan.rounds,
        # Fastest run of each kind: what the machine's bursts of other work did not slow down.
        "best_ms": {name: round(value * 1000, 1) for name, value in best.items()},
        "ratio_of_best": round(best["traced"] / best["plain"], 3),
    }
    value = {name: round(median(samples), 3) for name, samples in ratios.items()}
    samples = {name: [round(s, 3) for s in values] for name, values in ratios.items()}
    return [
        Figure("trace_overhead", value["trace"], details={**details, "samples": samples["trace"]}),
        Figure(
            "echo_overhead",
            value["echo"],
            details={"samples": samples["echo"], "ratio_of_best": round(best["echo"] / best["plain"], 3)},
        ),
        Figure("trace_minus_echo", round(value["trace"] - value["echo"], 3)),
        Figure("trace_overhead_cpu", value["trace_cpu"], details={"samples": samples["trace_cpu"]}),
        Figure("echo_overhead_cpu", value["echo_cpu"], details={"samples": samples["echo_cpu"]}),
        Figure("trace_overhead_gc_paused", value["paused"], details={"samples": samples["paused"]}),
    ]


def measure_capture(rows: int, repeat: int) -> list[Figure]:
    """capture() around a workload against the bare workload (see ``benchmarks.capture``)."""
    try:
        from .capture import measure_capture_overhead
    except ImportError:
        return [Figure("capture_overhead", None, reason="benchmarks.capture is not available")]
    result = measure_capture_overhead(rows=rows, repeat=repeat)
    seconds = result["seconds"]
    return [
        Figure(
            "capture_overhead",
            round(seconds["capture"] / seconds["none"], 3),
            details={
                "statements": result["statements"],
                "seconds": seconds,
                "capture_vs_echo": result.get("capture_vs_echo"),
            },
        )
    ]


def _scaling(folder: Path, name: str, small: str, large: str, rounds: int) -> dict[str, Any]:
    """Trace a program and its 10x larger sibling in turns; the ratio of their median times."""
    small_path = write_program(folder, f"{name}_small.py", small)
    large_path = write_program(folder, f"{name}_large.py", large)
    # Enough steps for the large line script: the default cap would cut it short and hide growth.
    options = TraceOptions(max_steps=100_000, max_events=1_000_000)
    times: dict[str, list[float]] = {"small": [], "large": []}
    shape: dict[str, dict[str, int]] = {}
    _run_traced(small_path, options)  # warm-up
    for _ in range(rounds):
        for size, path in (("small", small_path), ("large", large_path)):
            timing, transcript = _run_traced(path, options)
            times[size].append(timing.wall * 1000)
            shape[size] = {"steps": len(transcript["steps"]), "statements": _count(transcript, "sql")}
    small_ms, large_ms = median(times["small"]), median(times["large"])
    return {
        "value": round(large_ms / small_ms, 2),
        "details": {
            "small_ms": round(small_ms, 1),
            "large_ms": round(large_ms, 1),
            "small": shape["small"],
            "large": shape["large"],
        },
    }


def measure_scaling(folder: Path, plan: OverheadPlan) -> list[Figure]:
    """steps_scaling (cell lessons) and steps_scaling_lines (a plain script stepped line by line)."""
    n = plan.scaling_small
    cells = _scaling(folder, "cells", cell_lesson(n), cell_lesson(10 * n), plan.scaling_rounds)
    lines = _scaling(folder, "lines", line_script(n), line_script(10 * n), plan.scaling_rounds)
    return [
        Figure("steps_scaling", cells["value"], details=cells["details"]),
        Figure("steps_scaling_lines", lines["value"], details=lines["details"]),
    ]
