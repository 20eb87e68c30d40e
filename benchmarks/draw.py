"""``python -m benchmarks.draw LESSON.py...``: the pure render time per step of each lesson.

Drawing only (no Streamlit): the AppTest measurement of a whole rerun is ``benchmarks.render``.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlecho._app.traces import TraceCache
from sqlecho._render.step import Traced, draw_step
from sqlecho._trace.options import TraceOptions
from sqlecho._trace.tracer import in_process

__all__ = ["RenderTiming", "main", "time_render"]


@dataclass(frozen=True)
class RenderTiming:
    """Milliseconds to render one step, over every step of a transcript."""

    steps: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def time_render(traced: Traced, rounds: int = 5) -> RenderTiming:
    """Time :func:`draw_step` over every step, ``rounds`` times (the first round warms caches)."""
    samples: list[float] = []
    for round_number in range(rounds + 1):
        for index in range(len(traced.steps)):
            started = time.perf_counter()
            draw_step(traced, index)
            if round_number:
                samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return RenderTiming(
        len(traced.steps), round(statistics.median(ordered), 3), round(p95, 3), round(ordered[-1], 3)
    )


def main(argv: list[str]) -> int:
    """``python -m benchmarks.draw LESSON.py...``: pure render time per step of each lesson."""
    cache = TraceCache(in_process)
    for name in argv:
        path = Path(name)
        traced = cache.trace(path.read_text(encoding="utf-8"), path, TraceOptions(), path.name)
        timing = time_render(traced)
        print(
            f"{path.name}: {timing.steps} steps, p50 {timing.p50_ms} ms, p95 {timing.p95_ms} ms, max {timing.max_ms} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
