"""How many readers the deployment a school would use holds: ``deploy/serve.py`` and nginx.

``deploy/serve.py`` with its default replicas starts in front of the shipped lessons (each
replica traces every lesson in the background after its first page, into one shared transcript
folder of this run's own). Then, for 100, 200, 300, 400 ... readers, every reader arrives at a
random moment within the first pause, opens a lesson through nginx's websocket (reader i reads
lesson i mod the number of lessons; nginx picks the replica) and steps through it with a random
2-4 s pause before each step, as in the ``capacity`` part.

What a step asks of the server depends on how the page steps (``SQLECHO_STEPPING``):

- ``server``: the page runs again for the new step (``Tab.show``), as ``capacity`` measures.
- ``browser`` (the deployment's default): every step of the lesson is already on the page and
  the browser shows the next one itself; the server is told where the reader is by a message
  that reruns only a small part of the page (its *fragment*), at most once every 5 s
  (``REPORT_EVERY_S``, as the page does). The benchmark times that message's round trip
  (``BrowserTab.report``); a step that sends none waits for no server and is not timed. The
  step itself is on screen before its message, so this is an upper bound of what the reader
  waits for.

The figure is the largest level whose p95 stays within 250 ms with no failed reader.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .capacity import GOAL_MS, lesson_steps, wait_for_files
from .client import Tab
from .server import ServerFailed, free_port
from .stats import Figure, median, no_app, percentile, rss_mib, unavailable

__all__ = ["FIGURES", "BrowserTab", "DeployPlan", "measure_deploy"]

FIGURES = ["deploy_readers_at_250ms_p95"]

REPORTER = "sqlecho_step_reporter"
"""The name of the lesson page's component that tells the server where a browser-stepping reader is."""
REPORT_EVERY_S = 5.0
"""The page tells the server where the reader is at most this often (sqlecho._app.browser_steps)."""


@dataclass(frozen=True)
class DeployPlan:
    """The levels to try, what each reader does, and how the deployment steps."""

    levels: tuple[int, ...] = (100, 200, 300, 400, 600)
    steps: int = 5
    pause_s: tuple[float, float] = (2.0, 4.0)
    stepping: str | None = None
    """``SQLECHO_STEPPING`` for the replicas; None: what ``deploy/serve.py`` sets by default."""
    replicas: int | None = None
    """None: ``deploy/serve.py``'s default."""
    open_timeout_s: float = 120.0
    step_timeout_s: float = 30.0
    warm_timeout_s: float = 300.0
    warm_files: int | None = None
    """Stored transcripts to wait for before the first level (None: every lesson, 3 runs each)."""


@dataclass
class BrowserTab(Tab):
    """A reader of a page that steps in the browser: it opens the lesson once, then only tells
    the server which step it is on, as the page's step reporter does after each step."""

    _reporter: str = ""
    _fragment: str = ""
    _query: str = ""
    silent: int = 0
    """Steps the browser showed with no message to the server."""

    async def open_lesson(self, url: str, timeout: float) -> None:
        """Connect and open the lesson at step 1 (``opened_ms``); failures are recorded."""
        try:
            await self.connect(url)
            self.opened_ms = await self._run(f"lesson={self.stem}&step=1&predict=0", timeout, opening=True)
        except Exception as exc:  # noqa: BLE001 - one broken tab must not end the others
            self.errors.append(f"open: {type(exc).__name__}: {exc}")

    async def report(self, step: int, timeout: float) -> float | None:
        """Tell the server the reader is on ``step``; milliseconds until its run finished."""
        if not self._reporter:
            self.errors.append("the page has no step reporter")
            return None
        return await self._run(self._query, timeout, step=step)

    async def _run(self, query: str, timeout: float, *, opening: bool = False, step: int = 0) -> float | None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        request = BackMsg()
        request.rerun_script.query_string = query
        request.rerun_script.page_script_hash = self._page
        request.rerun_script.widget_states.SetInParent()
        if not opening:
            request.rerun_script.fragment_id = self._fragment
            widget = request.rerun_script.widget_states.widgets.add()
            widget.id = self._reporter
            widget.json_value = json.dumps({"at": {"step": step, "revealed": True}})
        expected = f" of {self.of}</b>".encode()
        seen = not opening
        started = time.perf_counter()
        await self._socket.send(request.SerializeToString())
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = ForwardMsg()
                    data = await self._socket.recv()
                    message.ParseFromString(data)
                    kind = message.WhichOneof("type")
                    if kind == "new_session":
                        self._page = message.new_session.page_script_hash
                    elif kind == "page_info_changed":
                        self._query = message.page_info_changed.query_string
                    elif kind == "delta":
                        element = message.delta.new_element
                        which = element.WhichOneof("type")
                        if which == "exception":
                            self.errors.append(
                                f"step {step}: {element.exception.type}: {element.exception.message}"
                            )
                        elif which == "bidi_component":
                            if element.bidi_component.component_name == REPORTER:
                                self._reporter = element.bidi_component.id
                                self._fragment = message.delta.fragment_id
                            seen = seen or expected in data
                    elif kind == "script_finished":
                        break
        except TimeoutError:
            self.errors.append(f"step {step}: no answer within {timeout:g} s")
            return None
        if not seen:
            self.errors.append(f"the page did not hold the lesson's {self.of} steps")
            return None
        if opening and not self._query:
            self._query = query
        return (time.perf_counter() - started) * 1000


@dataclass
class _Deployment:
    url: str
    replicas: dict[int, int] = field(default_factory=dict)
    """Replica port -> its server's pid."""

    def cpu_seconds(self) -> float | None:
        total = 0.0
        for pid in self.replicas.values():
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rpartition(")")[2].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                return None
        return total

    def rss_mib(self) -> float | None:
        sizes = [rss_mib(pid) for pid in self.replicas.values()]
        return None if any(size is None for size in sizes) else round(sum(s or 0 for s in sizes), 1)


def nginx_path() -> str | None:
    """Debian's nginx, or the one on PATH; None when there is none."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if Path(found).exists() else None


@contextmanager
def _deployment(app: Path, folder: Path, plan: DeployPlan, nginx: str) -> Iterator[_Deployment]:
    """``deploy/serve.py`` for ``app``, stopped (SIGTERM to it: it stops what it started) at the end."""
    serve = app.parent / "deploy" / "serve.py"
    if not serve.is_file():
        raise ServerFailed(f"no deploy/serve.py beside {app}")
    port = free_port()
    command = [sys.executable, str(serve), "--port", str(port), "--app", str(app), "--nginx", nginx]
    command += ["--run-dir", str(folder / "deploy"), "--cache-dir", str(folder / "deploy_transcripts")]
    if plan.replicas is not None:
        command += ["--replicas", str(plan.replicas)]
    if plan.stepping is not None:
        command += ["--stepping", plan.stepping]
    log = folder / "deploy.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=out, text=True, start_new_session=True
        )
    try:
        deployment = _Deployment(f"ws://127.0.0.1:{port}/_stcore/stream")
        assert process.stdout is not None
        for line in process.stdout:
            if found := re.match(r"replica \d+: pid (\d+), port (\d+)", line):
                deployment.replicas[int(found[2])] = int(found[1])
            if line.startswith("serving"):
                break
        else:
            tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
            raise ServerFailed(f"deploy/serve.py did not start: {tail or 'no output'}")
        yield deployment
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


async def _first_pages(deployment: _Deployment, timeout: float) -> None:
    """The first lesson's first page on every replica (each starts warming then)."""
    for port in deployment.replicas:
        tab = Tab("", 1, -1)
        try:
            await tab.connect(f"ws://127.0.0.1:{port}/_stcore/stream")
            await tab.show(1, timeout)
        finally:
            await tab.close()


async def _reader(tab: Tab, url: str, plan: DeployPlan) -> None:
    rng = random.Random(tab.seed)
    low, high = plan.pause_s
    await asyncio.sleep(rng.uniform(0, high))
    if isinstance(tab, BrowserTab):
        await tab.open_lesson(url, plan.open_timeout_s)
    else:
        await tab.open(url, plan.open_timeout_s)
    if tab.opened_ms is None:
        return
    last = -REPORT_EVERY_S
    try:
        for number in range(plan.steps):
            await asyncio.sleep(rng.uniform(low, high))
            step = (number + 1) % tab.of + 1
            if isinstance(tab, BrowserTab):
                tab.silent += 1
                if time.monotonic() - last < REPORT_EVERY_S:
                    continue  # the browser shows it; the server hears of it with a later step
                tab.silent -= 1
                last = time.monotonic()
                elapsed = await tab.report(step, plan.step_timeout_s)
            else:
                elapsed = await tab.show(step, plan.step_timeout_s)
            if elapsed is None:
                return
            tab.step_ms.append(elapsed)
    except Exception as exc:  # noqa: BLE001 - one broken tab must not end the others
        tab.errors.append(f"stepping: {type(exc).__name__}: {exc}")


async def _level(deployment: _Deployment, tabs: list[Tab], plan: DeployPlan) -> dict[str, Any]:
    cpu, client_cpu, started = deployment.cpu_seconds(), time.process_time(), time.monotonic()
    load = os.getloadavg()[0]
    try:
        await asyncio.gather(*(_reader(tab, deployment.url, plan) for tab in tabs))
        wall = time.monotonic() - started
        used = deployment.cpu_seconds()
        rss = deployment.rss_mib()
    finally:
        await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)
    steps = [ms for tab in tabs for ms in tab.step_ms]
    taken = len(steps) + sum(tab.silent for tab in tabs if isinstance(tab, BrowserTab))
    opens = [tab.opened_ms for tab in tabs if tab.opened_ms is not None]
    return {
        "readers": len(tabs),
        "steps": taken,
        "timed": len(steps),
        "p50_ms": round(median(steps), 1) if steps else None,
        "p95_ms": round(percentile(steps, 95), 1) if steps else None,
        "open_p95_ms": round(percentile(opens, 95), 1) if opens else None,
        "failed_readers": sum(bool(tab.errors) for tab in tabs),
        "first_errors": [f"{tab.stem}: {tab.errors[0]}" for tab in tabs if tab.errors][:3],
        "server_cpu_cores": round((used - cpu) / wall, 2) if used is not None and cpu is not None else None,
        # The opening runs included: what a reader's step costs the deployment, all told.
        "server_cpu_ms_per_step": round((used - cpu) * 1000 / taken, 1)
        if used is not None and cpu is not None and taken
        else None,
        "client_cpu_cores": round((time.process_time() - client_cpu) / wall, 2),
        "server_rss_mib": rss,
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "seconds": round(wall, 1),
    }


def _stepping(plan: DeployPlan) -> str:
    return plan.stepping or "browser"


def measure_deploy(app_file: Path, folder: Path, plan: DeployPlan) -> list[Figure]:
    """The largest level whose step p95 through nginx stays within 250 ms, and the whole curve."""
    if not app_file.is_file():
        return unavailable(FIGURES, no_app(app_file))
    nginx = nginx_path()
    if nginx is None:
        return unavailable(FIGURES, "nginx is not installed (apt-get install nginx): the deployment needs it")
    try:
        import streamlit.proto.ForwardMsg_pb2  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        return unavailable(FIGURES, f"streamlit and websockets are needed ({exc})")
    lessons_dir = app_file.parent / "lessons"
    store = folder / "deploy_transcripts"
    expected = plan.warm_files or 3 * sum(
        1 for path in lessons_dir.glob("*.py") if not path.name.startswith(("_", "."))
    )
    stepping = _stepping(plan)
    kind = BrowserTab if stepping == "browser" else Tab
    curve: list[dict[str, Any]] = []
    try:
        with _deployment(app_file, folder, plan, nginx) as deployment:
            asyncio.run(_first_pages(deployment, plan.open_timeout_s))
            warm_s = wait_for_files(store, expected, plan.warm_timeout_s)
            steps = lesson_steps(store)
            if not steps:
                raise ServerFailed("no lesson was traced")
            stems = sorted(steps)
            for readers in plan.levels:
                tabs: list[Tab] = [
                    kind(stems[i % len(stems)], steps[stems[i % len(stems)]], seed=i) for i in range(readers)
                ]
                found = asyncio.run(_level(deployment, tabs, plan))
                curve.append(found)
                if found["p95_ms"] is None or found["p95_ms"] > 4 * GOAL_MS or found["failed_readers"]:
                    break
            replicas = len(deployment.replicas)
    except ServerFailed as exc:
        return unavailable(FIGURES, str(exc))
    held = [level["readers"] for level in curve if _held(level)]
    details = {
        "curve": curve,
        "goal_ms": GOAL_MS,
        "replicas": replicas,
        "stepping": stepping,
        "pause_s": list(plan.pause_s),
        "steps_per_reader": plan.steps,
        "lessons": len(steps),
        "warm_up_s": warm_s,
        "cpus": os.cpu_count(),
    }
    return [Figure("deploy_readers_at_250ms_p95", max(held, default=0), details=details)]


def _held(level: dict[str, Any]) -> bool:
    return level["p95_ms"] is not None and level["p95_ms"] <= GOAL_MS and not level["failed_readers"]
