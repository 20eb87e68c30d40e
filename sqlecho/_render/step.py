"""One step of a traced program as the page's HTML blocks, and how long drawing them takes.

The app places these blocks in columns; everything here is pure, so the tests and the benchmark
call it without Streamlit. ``python -m sqlecho._render.step LESSON.py`` prints the pure render
time per step of a lesson (the AppTest measurement of a whole rerun is in docs/app.md).
"""

from __future__ import annotations

import functools
import statistics
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._app.traces import TraceCache, Traced, in_process_runner
from .._trace.tracer import TraceOptions
from .code import esc, highlight_python_lines
from .diff import StepDiff
from .events import render_code, render_error, render_events, sql_total
from .panels import render_objects, render_session, render_tables

__all__ = ["StepHTML", "diff_summary", "draw_step", "narrative_text", "render_step", "time_render"]


@functools.lru_cache(maxsize=64)
def _highlighted(source: str) -> tuple[str, ...]:
    """The program's highlighted lines, once per program text (they serve every step)."""
    return tuple(highlight_python_lines(source))


def _heading(text: str, detail: str = "") -> str:
    extra = f' <span class="sqe-note">{esc(detail)}</span>' if detail else ""
    return f'<div class="sqe-h">{esc(text)}{extra}</div>'


@dataclass(frozen=True)
class StepHTML:
    """The blocks of one step, each a self-contained HTML fragment."""

    code: str
    """The step's lines in their context, with statement counts."""
    events: str
    """What happened, in order, then the step's error if it has one."""
    objects: str
    """A card per ORM object."""
    database: str
    """The Session's collections and the committed tables."""
    whole: str
    """Every line of the program, the step's lines highlighted."""


_RENDERED: OrderedDict[Hashable, StepHTML] = OrderedDict()
_RENDERED_MAX = 512
_RENDERED_LOCK = threading.Lock()


def render_step(
    traced: Traced, index: int, *, marks: tuple[int, ...] = (), heading: str = "What happened"
) -> StepHTML:
    """The HTML blocks of step ``index`` (0-based) of ``traced``, drawn once per trace and step.

    Every reader of a lesson sees the same HTML for the same step, so it is kept (by the trace's
    key) for the next reader, in every session of this server process.

    Args:
        traced: the transcript and what is derived from it.
        index: the step.
        marks: events to mark as "only in this run" (when two runs are compared).
        heading: the heading of the events block ("As written", "With autoflush=False", ...).
    """
    key = (traced.key, index, tuple(marks), heading)
    with _RENDERED_LOCK:
        if key in _RENDERED:
            _RENDERED.move_to_end(key)
            return _RENDERED[key]
    blocks = draw_step(traced, index, marks=marks, heading=heading)
    with _RENDERED_LOCK:
        _RENDERED[key] = blocks
        while len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    return blocks


def draw_step(
    traced: Traced, index: int, *, marks: tuple[int, ...] = (), heading: str = "What happened"
) -> StepHTML:
    """:func:`render_step` without the cache: the pure rendering work."""
    steps = traced.steps
    step = steps[index]
    previous = steps[index - 1] if index > 0 else None
    first, last = step["lines"]
    where = f"line {first}" if first == last else f"lines {first}–{last}"
    total = sql_total(step)
    context = 1 if traced.transcript.get("mode") == "cells" else 4
    code = _heading("Code", f"{where} · {total} statement{'s' * (total != 1)} in this step")
    code += render_code(_highlighted(traced.source), step, traced.counts, context=context)
    events = _heading(heading, "in order") + render_events(step, marks=marks)
    if step.get("error"):
        events += render_error(step["error"], traced.transcript.get("versions"))
    objects = _heading("Objects", "after this step; changes since the step before are marked")
    objects += render_objects(step, previous, traced.order)
    database = (
        _heading("Session", "what the Session tracks")
        + render_session(step, previous)
        + _heading("Database", "committed rows, as another connection sees them")
        + render_tables(step, previous)
    )
    whole = render_code(_highlighted(traced.source), step, traced.counts, whole=True)
    return StepHTML(code, events, objects, database, whole)


def diff_summary(diff: StepDiff, label: str) -> str:
    """The box above a compared step: what the switch changed here, or that nothing did."""
    if not diff.notes:
        return f'<div class="sqe-diff sqe-same">With {esc(label)} this step sends the same SQL.</div>'
    notes = "".join(f"<li>{esc(note)}</li>" for note in diff.notes)
    return f'<div class="sqe-diff"><b>Compared with {esc(label)}:</b><ul>{notes}</ul></div>'


def narrative_text(step: dict[str, Any], lesson_title: str | None = None) -> str:
    """The step's narrative markdown, without the lesson's title heading (shown above it already)."""
    text = str(step.get("narrative") or "")
    lines = text.splitlines()
    if lesson_title and lines and lines[0].startswith("# ") and lines[0][2:].strip() == lesson_title:
        text = "\n".join(lines[1:]).strip()
    return text


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
    """``python -m sqlecho._render.step LESSON.py...``: pure render time per step of each lesson."""
    cache = TraceCache(in_process_runner)
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
