"""Many readers at once against a real app server, spoken to in Streamlit's own protocol.

Each session is what a browser tab does, minus the drawing: a websocket to ``/_stcore/stream``,
one ``BackMsg.rerun_script`` per page (its ``query_string`` is the page address
``lesson=<stem>&step=<N>``), and the ``ForwardMsg`` stream back until ``script_finished``. A step
counts as correct when the page it sent says "Step N of M" for the right N and M and holds no
exception. By default every session reads a lesson of its own, so the server traces one program
per session.

First a one-line Streamlit page, then one session alone on the app, give the latency without
contention. Then every session opens its lesson (which includes tracing it) and, once all are
open, all of them step through their lessons together with a pause before each step, like
students clicking "Next". Only that last phase counts as step latency; opening is reported apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .capacity import wait_for_files
from .client import Tab
from .server import AppServer, ServerFailed
from .stats import Figure, Goal, children_by_parent, median, no_app, percentile, rss_mib, unavailable
from .workload import FLOOR_APP, FLOOR_STEPS, cell_lesson, write_program

__all__ = ["FIGURES", "SessionsPlan", "measure_sessions"]

FIGURES = [
    "sessions",
    "sessions_correct",
    "session_step_ms_p50",
    "session_step_ms_p95",
    "session_open_ms_p95",
    "session_step_alone_ms_p50",
    "streamlit_floor_ms_p50",
    "server_workers_while_stepping",
    "server_cpu_ms_per_step",
    "server_rss_mib_per_session",
]


_ALONE_THINK_S = 0.2
_WATCH_S = 0.05


@dataclass(frozen=True)
class SessionsPlan:
    """How many readers, how many steps each, how fast, and how long to wait for them."""

    sessions: int = 50
    steps: int = 8
    """Pages each session shows (step 1 is the opening); every lesson has at least this many steps."""
    lessons: int | None = None
    """Different lessons among the sessions (session i reads lesson i mod this); None: one each."""
    think_s: float = 1.0
    """Mean pause before each step (each pause is 0.5x-1.5x this, seeded)."""
    alone_rounds: int = 3
    """Passes through its lesson of the first session, alone on the server, and of the floor page."""
    open_timeout_s: float = 180.0
    """For one session's first page (the server may be tracing every lesson at once)."""
    warm_timeout_s: float = 300.0
    """For the server to trace every lesson in the background before the class arrives."""
    step_timeout_s: float = 30.0
    deadline_s: float = 600.0
    """The concurrent phase, after which unfinished sessions count as failed."""
    server_options: tuple[tuple[str, str], ...] = ()
    """Streamlit settings for the app server's command line (``--name value``), to try a change."""


async def _alone(url: str, tab: Tab, plan: SessionsPlan) -> None:
    """One tab, nobody else on the server: open, then step through with short pauses."""
    try:
        await tab.open(url, plan.open_timeout_s)
        for _ in range(plan.alone_rounds):
            # A pause, as in the concurrent phase: a request sent the instant the previous page
            # finished waits for Streamlit to wind that run down (~40 ms here), which no reader does.
            await tab.step_through(tab.of, _ALONE_THINK_S, plan.step_timeout_s)
    finally:
        await tab.close()


async def _together(server: AppServer, tabs: list[Tab], plan: SessionsPlan) -> dict[str, float | None]:
    """Every tab opens, then all step together. Returns the server's RSS while all are still
    connected (``after_mib``) and the CPU time it spent in the stepping phase (``cpu_s``)."""
    url = server.stream_url
    found: dict[str, float | None] = {}
    try:
        async with asyncio.timeout(plan.deadline_s):
            async with _new_children(server) as started:
                await asyncio.gather(*(tab.open(url, plan.open_timeout_s) for tab in tabs))
            found["opening_workers"] = len(started)
            cpu = server.cpu_seconds()
            async with _new_children(server) as started:
                await asyncio.gather(
                    *(tab.step_through(plan.steps, plan.think_s, plan.step_timeout_s) for tab in tabs)
                )
            used = server.cpu_seconds()
            found["workers"] = len(started)
            found["cpu_s"] = used - cpu if used is not None and cpu is not None else None
            found["after_mib"] = rss_mib(server.process.pid if server.process else None)
    except TimeoutError:
        for tab in tabs:
            tab.errors.append(f"the run passed its {plan.deadline_s:g} s deadline")
    finally:
        await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)
    return found


@contextlib.asynccontextmanager
async def _new_children(server: AppServer) -> AsyncIterator[set[int]]:
    """Collects the child processes the server starts while the block runs (sampled, so a very
    short-lived one may be missed).

    Every trace takes a warm worker and the pool starts its replacement: new children mean the
    server traced, and while sessions only step, that its transcript cache lost a lesson.
    """
    pid = server.process.pid if server.process else -1
    existing = set(children_by_parent().get(pid, []))
    started: set[int] = set()
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            started.update(set(children_by_parent().get(pid, [])) - existing)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _WATCH_S)

    task = asyncio.create_task(watch())
    try:
        yield started
    finally:
        stop.set()
        await task


def _lessons(folder: Path, plan: SessionsPlan) -> list[tuple[str, int]]:
    """The lessons, as (stem, steps): one for the first session, then one per reader (or fewer)."""
    folder.mkdir(exist_ok=True)
    made = []
    for number in range(1 + (plan.lessons or plan.sessions)):
        cells = plan.steps - 1 + number % 3  # lengths differ a little, so a mix-up shows in M
        stem = f"{number:03d}_reader_{number}"
        write_program(folder, f"{stem}.py", cell_lesson(cells, f"Lesson of reader {number}"))
        made.append((stem, cells + 1))
    return made


def _floor(app_file: Path, folder: Path, plan: SessionsPlan) -> list[float]:
    """Step latency of a one-line Streamlit page with the app's settings: what any app pays here."""
    floor = folder / "floor"
    floor.mkdir(exist_ok=True)
    settings = app_file.parent / ".streamlit"
    if settings.is_dir():
        shutil.copytree(settings, floor / ".streamlit", dirs_exist_ok=True)
    app = write_program(floor, "app.py", FLOOR_APP)
    tab = Tab("floor", FLOOR_STEPS, -2)
    with AppServer(app, {}, folder / "floor.log", plan.server_options) as server:
        asyncio.run(_alone(server.stream_url, tab, plan))
    if tab.errors:
        raise ServerFailed(f"the one-line page failed: {tab.errors[0]}")
    return tab.step_ms


def measure_sessions(app_file: Path, folder: Path, plan: SessionsPlan) -> list[Figure]:
    """N concurrent sessions against ``streamlit run app_file``: correctness, latency, memory."""
    if not app_file.is_file():
        return unavailable(FIGURES, no_app(app_file))
    try:
        import streamlit.proto.ForwardMsg_pb2  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        return unavailable(FIGURES, f"streamlit and websockets are needed ({exc})")
    lessons = _lessons(folder / "session_lessons", plan)
    (first_stem, first_of), *readers = lessons
    tabs = [Tab(*readers[number % len(readers)], seed=number) for number in range(plan.sessions)]
    # A transcript folder of this run's own: the server starts with nothing traced.
    store = folder / "transcripts"
    env = {"SQLECHO_LESSONS": str(folder / "session_lessons"), "SQLECHO_CACHE_DIR": str(store)}
    floor: list[float] = []
    floor_problem = None
    try:
        floor = _floor(app_file, folder, plan)
    except ServerFailed as exc:
        floor_problem = str(exc)
    try:
        with AppServer(app_file, env, folder / "server.log", plan.server_options) as server:
            # One session alone first: its steps are the latency without contention, and the
            # server's imports are then in the memory baseline rather than counted per session.
            first = Tab(first_stem, first_of, -1)
            asyncio.run(_alone(server.stream_url, first, plan))
            if first.errors:
                raise ServerFailed(f"the first session failed: {first.errors[0]} ({server.log_tail()})")
            # The first page started tracing every lesson in the background: the teacher's server
            # was up before the class arrived. Wait for that (plain and each switch alone).
            warm_s = wait_for_files(store, 3 * len(lessons), plan.warm_timeout_s)
            before = rss_mib(server.process.pid if server.process else None)
            found = asyncio.run(_together(server, tabs, plan))
            found["warm_s"] = warm_s
    except ServerFailed as exc:
        return unavailable(FIGURES, str(exc))
    figures = _figures(plan, tabs, first.step_ms, before, found)
    figures.append(
        Figure("streamlit_floor_ms_p50", round(median(floor), 1), details={"samples": len(floor)})
        if floor
        else Figure("streamlit_floor_ms_p50", None, reason=floor_problem or "no step completed")
    )
    return figures


def _figures(
    plan: SessionsPlan,
    tabs: list[Tab],
    alone: list[float],
    before: float | None,
    found: dict[str, float | None],
) -> list[Figure]:
    steps = [ms for tab in tabs for ms in tab.step_ms]
    after, cpu, workers = found.get("after_mib"), found.get("cpu_s"), found.get("workers")
    opens = [tab.opened_ms for tab in tabs if tab.opened_ms is not None]
    per_session = (
        round((after - before) / plan.sessions, 2) if after is not None and before is not None else None
    )
    details = {
        "steps_per_session": plan.steps,
        "lessons": plan.lessons or plan.sessions,
        "think_s": plan.think_s,
        "step_samples": len(steps),
        "first_errors": [f"{tab.stem}: {tab.errors[0]}" for tab in tabs if tab.errors][:5],
        "slowest_steps": sorted(
            ((round(ms, 1), tab.stem, number + 2) for tab in tabs for number, ms in enumerate(tab.step_ms)),
            reverse=True,
        )[:5],
        "workers_while_opening": found.get("opening_workers"),
        "server_rss_mib": {"before": before, "after": after},
        "server_options": dict(plan.server_options),
    }
    missing = "no step completed" if not steps else None
    return [
        Figure("sessions", plan.sessions, details=details),
        Figure(
            "sessions_correct",
            sum(tab.correct(plan.steps) for tab in tabs),
            goal_override=Goal(">=", plan.sessions),
        ),
        Figure("session_step_ms_p50", round(median(steps), 1) if steps else None, reason=missing),
        Figure("session_step_ms_p95", round(percentile(steps, 95), 1) if steps else None, reason=missing),
        Figure(
            "session_open_ms_p95",
            round(percentile(opens, 95), 1) if opens else None,
            reason=None if opens else "no session opened",
            details={
                "p50": round(median(opens), 1) if opens else None,
                "warm_up_s": found.get("warm_s"),
                "note": "after the server traced every lesson in the background (warm_up_s after the first page)",
            },
        ),
        Figure(
            "session_step_alone_ms_p50",
            round(median(alone), 1) if alone else None,
            reason=None if alone else "no step completed",
            details={"samples": len(alone)},
        ),
        Figure(
            "server_workers_while_stepping",
            workers,
            reason=None if workers is not None else "the stepping phase did not finish",
        ),
        Figure(
            "server_cpu_ms_per_step",
            round(cpu * 1000 / len(steps), 1) if cpu is not None and steps else None,
            reason=None if cpu is not None and steps else "server CPU time not readable, or no step",
        ),
        Figure(
            "server_rss_mib_per_session",
            per_session,
            reason=None if per_session is not None else "server memory not readable",
        ),
    ]
