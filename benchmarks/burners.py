"""A lesson reader under 20 burners: the reader's step p95 while pasted programs spin.

One ``streamlit run app.py`` serves the shipped lessons (traced in the background after the first
page, as in a deployment). A reader steps through a lesson alone for a while (the quiet figure),
then 20 clients open "Your code", each paste a program that forks as many processes as the run
may start and spins in all of them, and press Run, through the app's own page and websocket, as
20 students would. The reader goes on stepping while they run; its step p95 in that window is
the figure. What holds it down is the server's: each run's CPU quota (``SQLECHO_RUN_CPU``) and
the bound on runs at once (``SQLECHO_RUNS``), the others waiting in the queue.

The clients are websocket tabs in this process (:class:`benchmarks.client.Tab` for the reader,
:class:`CodeTab` for a burner); the load average before and after is in the details.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .capacity import CapacityPlan, _first_page, lesson_steps, wait_for_files
from .client import Tab
from .server import AppServer, ServerFailed
from .stats import Figure, load_average, median, no_app, percentile, unavailable

__all__ = ["BURNER", "FIGURES", "BurnersPlan", "CodeTab", "measure_burners"]

FIGURES = ["reader_under_burners_ms_p95", "reader_quiet_ms_p95"]

BURNER = """\
# burner {number}: as many processes as the run may start, each spinning until a limit stops it
import os

for _ in range(7):
    if os.fork() == 0:
        break
while True:
    pass
"""
"""A pasted CPU burner (each one numbered, so that no two share a trace in the server's cache)."""


@dataclass(frozen=True)
class BurnersPlan:
    """How many burners, and how long the reader steps alone and beside them."""

    burners: int = 20
    quiet_s: float = 15.0
    """The reader alone, before the burners."""
    loaded_s: float = 60.0
    """The reader beside the burners, from the moment the last one pressed Run."""
    pause_s: tuple[float, float] = (0.5, 1.5)
    """The reader's pause before each step: uniform in this range."""
    user_limits: str = ""
    """``SQLECHO_USER_LIMITS`` of the server (empty: the app's defaults, as deployed)."""
    warm_timeout_s: float = 300.0
    warm_files: int | None = None
    step_timeout_s: float = 30.0


@dataclass
class CodeTab:
    """A reader on "Your code" who pastes ``code`` and presses Run, then keeps the page open."""

    code: str
    seen: set[str] = field(default_factory=set)
    """What the page said, as far as it tells how the run went (waiting, stopped, busy)."""
    errors: list[str] = field(default_factory=list)
    _socket: Any = None
    _reading: asyncio.Task[None] | None = None
    _rerunning: asyncio.Task[None] | None = None
    _fragments: dict[str, float] = field(default_factory=dict)
    """Fragments the page asked to rerun: id -> seconds between reruns."""
    _page: str = ""
    _box: str = ""

    async def submit(self, url: str, timeout: float) -> None:
        """Open the page, paste, press Run; failures are recorded, never raised."""
        import websockets
        from streamlit.proto.BackMsg_pb2 import BackMsg

        try:
            self._socket = await websockets.connect(
                url,
                subprotocols=["streamlit"],  # type: ignore[list-item]
                max_size=None,
                compression=None,
                open_timeout=60,
            )
            opened = BackMsg()
            opened.rerun_script.page_name = "your_code"
            opened.rerun_script.widget_states.SetInParent()
            page, widgets = await self._run(opened, timeout)
            if "Your program" not in widgets or "Run" not in widgets:
                self.errors.append(f"the page has no program box or Run button: {sorted(widgets)}")
                return
            self._page, self._box = page, widgets["Your program"]
            run = BackMsg()
            run.rerun_script.page_name = "your_code"
            run.rerun_script.page_script_hash = page
            box = run.rerun_script.widget_states.widgets.add()
            box.id, box.string_value = widgets["Your program"], self.code
            button = run.rerun_script.widget_states.widgets.add()
            button.id, button.trigger_value = widgets["Run"], True
            await self._socket.send(run.SerializeToString())
            self._reading = asyncio.create_task(self._drain())
        except Exception as exc:  # noqa: BLE001 - one broken tab must not end the others
            self.errors.append(f"{type(exc).__name__}: {exc}")

    async def _run(self, request: Any, timeout: float) -> tuple[str, dict[str, str]]:
        """Send a rerun; the page's script hash and its widgets' ids by label, once it finished."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        await self._socket.send(request.SerializeToString())
        page, widgets = "", {}
        async with asyncio.timeout(timeout):
            while True:
                message = ForwardMsg()
                message.ParseFromString(await self._socket.recv())
                kind = message.WhichOneof("type")
                if kind == "navigation":
                    page = message.navigation.page_script_hash
                elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                    element = message.delta.new_element
                    which = element.WhichOneof("type")
                    if which in ("text_area", "button"):
                        widget = getattr(element, which)
                        widgets[widget.label] = widget.id
                elif kind == "script_finished":
                    return page, widgets

    async def _drain(self) -> None:
        """Read what the page sends while the run waits and runs (a client that stops reading
        would leave the server's messages piling up), and rerun the page's fragments as often as
        it asks, as the browser does: that is how a waiting page shows its place, and how it
        learns that its turn came."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        marks = {
            b"Waiting for a free place": "waited",
            b"stopped by a limit": "limit",
            b"server is busy": "busy",
        }
        registered: dict[str, float] = {}
        try:
            while True:
                data = await self._socket.recv()
                for mark, name in marks.items():
                    if mark in data:
                        self.seen.add(name)
                message = ForwardMsg()
                message.ParseFromString(data)
                kind = message.WhichOneof("type")
                if kind == "auto_rerun":
                    self._fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval
                    registered[message.auto_rerun.fragment_id] = message.auto_rerun.interval
                    if self._rerunning is None:
                        self._rerunning = asyncio.create_task(self._rerun_fragments())
                elif kind == "script_finished" and message.script_finished in (0, 1):
                    # A run of the whole page ended: only the fragments it drew rerun from now on.
                    self._fragments, registered = registered, {}
                elif kind == "stop_auto_rerun":
                    self._fragments.clear()
        except Exception:  # noqa: BLE001 - the socket closed: the tab is done
            return

    async def _rerun_fragments(self) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        while True:
            await asyncio.sleep(min(self._fragments.values(), default=1.0) or 1.0)
            for fragment in list(self._fragments):
                request = BackMsg()
                request.rerun_script.page_name = "your_code"
                request.rerun_script.page_script_hash = self._page
                request.rerun_script.fragment_id = fragment
                request.rerun_script.is_auto_rerun = True
                box = request.rerun_script.widget_states.widgets.add()
                box.id, box.string_value = self._box, self.code
                await self._socket.send(request.SerializeToString())

    async def close(self) -> None:
        for task in (self._reading, self._rerunning):
            if task is not None:
                task.cancel()
        if self._socket is not None:
            await self._socket.close()


async def _step_for(tab: Tab, url: str, seconds: float, plan: BurnersPlan, rng: random.Random) -> list[float]:
    """Step round the lesson for ``seconds``; each step's milliseconds."""
    found: list[float] = []
    end = time.monotonic() + seconds
    step = 1
    while time.monotonic() < end:
        await asyncio.sleep(rng.uniform(*plan.pause_s))
        step = step % tab.of + 1
        elapsed = await tab.show(step, plan.step_timeout_s)
        if elapsed is None:
            break
        found.append(elapsed)
    return found


async def _measure(server: AppServer, stem: str, steps: int, plan: BurnersPlan) -> dict[str, Any]:
    reader = Tab(stem, steps, seed=1)
    rng = random.Random(1)
    burners = [CodeTab(BURNER.format(number=number)) for number in range(plan.burners)]
    await reader.open(server.stream_url, plan.step_timeout_s)
    if reader.opened_ms is None:
        raise ServerFailed(f"the reader could not open {stem}: {reader.errors}")
    try:
        quiet = await _step_for(reader, server.stream_url, plan.quiet_s, plan, rng)
        load_before = load_average()
        cpu, started = server.cpu_seconds(), time.monotonic()
        await asyncio.gather(*(tab.submit(server.stream_url, plan.step_timeout_s) for tab in burners))
        submitted_s = time.monotonic() - started
        loaded = await _step_for(reader, server.stream_url, plan.loaded_s, plan, rng)
        used = server.cpu_seconds()
        wall = time.monotonic() - started
        return {
            "quiet": quiet,
            "loaded": loaded,
            "submit_s": round(submitted_s, 1),
            "seconds": round(wall, 1),
            "server_cpu_cores": round((used - cpu) / wall, 2)
            if used is not None and cpu is not None
            else None,
            "load_before": load_before,
            "load_after": load_average(),
            "burners_waited": sum("waited" in tab.seen for tab in burners),
            "burners_stopped_by_a_limit": sum("limit" in tab.seen for tab in burners),
            "burners_refused": sum("busy" in tab.seen for tab in burners),
            "burner_errors": [tab.errors[0] for tab in burners if tab.errors][:3],
            "reader_errors": reader.errors[:3],
        }
    finally:
        await asyncio.gather(reader.close(), *(tab.close() for tab in burners), return_exceptions=True)


def measure_burners(app_file: Path, folder: Path, plan: BurnersPlan) -> list[Figure]:
    """The reader's step p95 beside the burners, and alone for comparison."""
    if not app_file.is_file():
        return unavailable(FIGURES, no_app(app_file))
    try:
        import streamlit.proto.ForwardMsg_pb2  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        return unavailable(FIGURES, f"streamlit and websockets are needed ({exc})")
    lessons_dir = app_file.parent / "lessons"
    store = folder / "burners_transcripts"
    env = {"SQLECHO_LESSONS": str(lessons_dir), "SQLECHO_CACHE_DIR": str(store)}
    if plan.user_limits:
        env["SQLECHO_USER_LIMITS"] = plan.user_limits
    expected = plan.warm_files or 3 * sum(
        1 for path in lessons_dir.glob("*.py") if not path.name.startswith(("_", "."))
    )
    try:
        with AppServer(app_file, env, folder / "burners.log") as server:
            opening = CapacityPlan(open_timeout_s=plan.step_timeout_s)
            asyncio.run(_first_page(Tab("", 1, -1), server.stream_url, opening))
            warm_s = wait_for_files(store, expected, plan.warm_timeout_s)
            steps = lesson_steps(store)
            if not steps:
                raise ServerFailed(f"no lesson was traced ({server.log_tail()})")
            stem = max(sorted(steps), key=lambda name: steps[name])  # the longest: no short loop
            found = asyncio.run(_measure(server, stem, steps[stem], plan))
    except ServerFailed as exc:
        return unavailable(FIGURES, str(exc))
    quiet, loaded = found.pop("quiet"), found.pop("loaded")
    if not loaded:
        return unavailable(FIGURES, f"the reader took no step beside the burners: {found['reader_errors']}")
    details = {
        **found,
        "burners": plan.burners,
        "lesson": stem,
        "steps": len(loaded),
        "p50_ms": round(median(loaded), 1),
        "max_ms": round(max(loaded), 1),
        "quiet_steps": len(quiet),
        "pause_s": list(plan.pause_s),
        "user_limits": plan.user_limits or "the app's defaults",
        "warm_up_s": warm_s,
    }
    return [
        Figure("reader_under_burners_ms_p95", round(percentile(loaded, 95), 1), details=details),
        Figure("reader_quiet_ms_p95", round(percentile(quiet, 95), 1))
        if quiet
        else Figure("reader_quiet_ms_p95", None, reason="the reader took no step alone"),
    ]
