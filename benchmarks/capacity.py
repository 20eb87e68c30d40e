"""How many readers one server holds: the step p95 as the class grows, until it passes 250 ms.

One ``streamlit run app.py`` serves the shipped lessons (every one traced in the background
after the first page, as in a real deployment, into a transcript folder of this run's own). Then,
for 50, 100, 200, 400 ... readers (each level a new set of tabs), every reader arrives at a random moment within the first
pause, opens a lesson (reader i reads lesson i mod the number of lessons), and steps through it
with a random 2-4 s pause before each step, as a student reading the narrative would. Only the
steps count; opening is the arrivals' figure (``session_open_ms_p95``).

The readers are websocket clients in this process (:class:`benchmarks.client.Tab`): they share
the machine's cores with the server, and their own CPU use is reported beside the server's.
The figure is the largest level that met the goal; the search goes on past a level that missed
it by less than 4x (on a shared machine, one burst of other work can spoil one level's p95).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .client import Tab
from .server import AppServer, ServerFailed
from .stats import Figure, median, no_app, percentile, rss_mib, unavailable

__all__ = ["FIGURES", "CapacityPlan", "lesson_steps", "measure_capacity", "wait_for_files"]

FIGURES = ["readers_at_250ms_p95"]

GOAL_MS = 250.0
"""The step p95 a level must stay within to count."""


@dataclass(frozen=True)
class CapacityPlan:
    """The levels to try, and what each reader does at each level."""

    levels: tuple[int, ...] = (50, 100, 200, 400)
    """Readers at once, tried in this order until one misses the goal."""
    steps: int = 5
    """Steps each reader takes after opening (round the lesson again if it is shorter)."""
    pause_s: tuple[float, float] = (2.0, 4.0)
    """A reader's pause before each step (and the spread of their arrivals): uniform in this range."""
    open_timeout_s: float = 120.0
    step_timeout_s: float = 30.0
    warm_timeout_s: float = 300.0
    """For the server to trace every lesson in the background before the first level."""
    warm_files: int | None = None
    """Stored transcripts to wait for before the first level (None: every lesson, 3 runs each)."""
    server_options: tuple[tuple[str, str], ...] = ()


def wait_for_files(folder: Path, count: int, timeout: float, settle: float = 15.0) -> float | None:
    """Seconds until ``folder`` holds ``count`` stored transcripts, or until no new one came for
    ``settle`` seconds (a lesson that ends with a limit is not stored); None after ``timeout``."""
    started = last_change = time.monotonic()
    seen = -1
    while time.monotonic() - started < timeout:
        found = sum(1 for _ in folder.glob("*.json")) if folder.is_dir() else 0
        if found >= count:
            return round(time.monotonic() - started, 1)
        if found != seen:
            seen, last_change = found, time.monotonic()
        elif found and time.monotonic() - last_change > settle:
            return round(last_change - started, 1)
        time.sleep(0.2)
    return None


def lesson_steps(folder: Path) -> dict[str, int]:
    """Lesson stem -> steps, from the stored transcripts of the lessons as written."""
    steps = {}
    for path in folder.glob("*.json"):
        try:
            transcript = json.loads(path.read_bytes())["transcript"]
            if transcript["options"] == {"expire_on_commit": None, "autoflush": None}:
                steps[str(transcript["source"]).removesuffix(".py")] = len(transcript["steps"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return steps


async def _reader(tab: Tab, url: str, plan: CapacityPlan) -> None:
    """Arrive within the first pause, open, then step with a pause before each step."""
    rng = random.Random(tab.seed)
    low, high = plan.pause_s
    await asyncio.sleep(rng.uniform(0, high))
    await tab.open(url, plan.open_timeout_s)
    if tab.opened_ms is None:
        return
    try:
        for number in range(plan.steps):
            await asyncio.sleep(rng.uniform(low, high))
            step = (number + 1) % tab.of + 1  # 2, 3, ..., M, 1, 2, ...
            elapsed = await tab.show(step, plan.step_timeout_s)
            if elapsed is None:
                return
            tab.step_ms.append(elapsed)
    except Exception as exc:  # noqa: BLE001 - one broken tab must not end the others
        tab.errors.append(f"stepping: {type(exc).__name__}: {exc}")


async def _level(server: AppServer, tabs: list[Tab], plan: CapacityPlan) -> dict[str, Any]:
    """One level: every tab reads; returns the step latencies and what the server used."""
    cpu, client_cpu, started = server.cpu_seconds(), time.process_time(), time.monotonic()
    try:
        await asyncio.gather(*(_reader(tab, server.stream_url, plan) for tab in tabs))
        wall = time.monotonic() - started
        used = server.cpu_seconds()
        rss = rss_mib(server.process.pid if server.process else None)
    finally:
        await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)
    steps = [ms for tab in tabs for ms in tab.step_ms]
    return {
        "readers": len(tabs),
        "steps": len(steps),
        "p50_ms": round(median(steps), 1) if steps else None,
        "p95_ms": round(percentile(steps, 95), 1) if steps else None,
        "open_p95_ms": round(percentile([t.opened_ms for t in tabs if t.opened_ms is not None], 95), 1)
        if any(t.opened_ms is not None for t in tabs)
        else None,
        "failed_readers": sum(bool(tab.errors) for tab in tabs),
        "first_errors": [f"{tab.stem}: {tab.errors[0]}" for tab in tabs if tab.errors][:3],
        "server_cpu_cores": round((used - cpu) / wall, 2) if used is not None and cpu is not None else None,
        "client_cpu_cores": round((time.process_time() - client_cpu) / wall, 2),
        "server_rss_mib": rss,
        "seconds": round(wall, 1),
    }


def measure_capacity(app_file: Path, folder: Path, plan: CapacityPlan) -> list[Figure]:
    """The largest level whose step p95 stays within :data:`GOAL_MS`, and the whole curve."""
    if not app_file.is_file():
        return unavailable(FIGURES, no_app(app_file))
    try:
        import streamlit.proto.ForwardMsg_pb2  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        return unavailable(FIGURES, f"streamlit and websockets are needed ({exc})")
    lessons_dir = app_file.parent / "lessons"
    store = folder / "capacity_transcripts"
    env = {"SQLECHO_LESSONS": str(lessons_dir), "SQLECHO_CACHE_DIR": str(store)}
    expected = plan.warm_files or 3 * sum(
        1 for path in lessons_dir.glob("*.py") if not path.name.startswith(("_", "."))
    )
    curve: list[dict[str, Any]] = []
    try:
        with AppServer(app_file, env, folder / "capacity.log", plan.server_options) as server:
            first = Tab("", 1, -1)
            asyncio.run(_first_page(first, server.stream_url, plan))  # starts the background tracing
            warm_s = wait_for_files(store, expected, plan.warm_timeout_s)
            steps = lesson_steps(store)
            if not steps:
                raise ServerFailed(f"no lesson was traced ({server.log_tail()})")
            stems = sorted(steps)
            for readers in plan.levels:
                tabs = [
                    Tab(stems[i % len(stems)], steps[stems[i % len(stems)]], seed=i) for i in range(readers)
                ]
                found = asyncio.run(_level(server, tabs, plan))
                curve.append(found)
                # On to the next level unless this one was clearly past the goal: a level that
                # misses by a little on a busy machine may be noise, and the curve shows it.
                if found["p95_ms"] is None or found["p95_ms"] > 4 * GOAL_MS or found["failed_readers"]:
                    break
    except ServerFailed as exc:
        return unavailable(FIGURES, str(exc))
    held = [level["readers"] for level in curve if _held(level)]
    details = {
        "curve": curve,
        "goal_ms": GOAL_MS,
        "pause_s": list(plan.pause_s),
        "steps_per_reader": plan.steps,
        "lessons": len(steps),
        "warm_up_s": warm_s,
        "predict_mode": "off (predict=0 in every address): every step is drawn whole",
    }
    return [Figure("readers_at_250ms_p95", max(held, default=0), details=details)]


def _held(level: dict[str, Any]) -> bool:
    return level["p95_ms"] is not None and level["p95_ms"] <= GOAL_MS and not level["failed_readers"]


async def _first_page(tab: Tab, url: str, plan: CapacityPlan) -> None:
    """The first lesson's first page, whatever its length: the server starts warming then."""
    try:
        await tab.connect(url)
        await tab.show(1, plan.open_timeout_s)  # "Step 1 of 1" may not match: only the run counts
    finally:
        await tab.close()
