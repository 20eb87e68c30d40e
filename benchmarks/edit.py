"""How long a teacher waits for an edited step: from Run to the two runs side by side.

A real ``streamlit run app.py`` with the sandbox, as deployed, serves a real lesson
(``lessons/04_expire_on_commit.py``), and one reader (Streamlit's own websocket protocol, as in
:mod:`benchmarks.client`) opens it first, so the server is warm: the lesson traced, its worker
pool up. Then each sample asks for a step of the lesson with one cell edited, an edit that no
sample made before (a comment with the sample's number), so each is the whole work of a Run: the
lesson re-traced with the edit in a sandbox worker, admitted like pasted code, compared with the
lesson as written, and drawn side by side. The edit goes in the page address (``&edits=``), which
runs exactly what the Run button runs, without a browser to press it. A sample counts from the
request to the end of the page's script run, and only if the page shows the edited run ("With your edits").
Samples are ``pause_s`` apart, as a teacher's Runs are (reading the result, changing the code
again): a warm server has replaced the spare worker the last Run took by then. Back to back,
every Run after the second would wait for a worker to start, which is the cold case the runner
part measures.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .capacity import wait_for_files
from .server import AppServer, ServerFailed
from .stats import Figure, median, no_app, percentile, unavailable

__all__ = ["FIGURES", "EditPlan", "measure_edit"]

FIGURES = ["edit_view_ms_p50", "edit_view_ms_p95"]

_LESSON = "04_expire_on_commit"
_STEP = 3
_CELL = "Read a title after the commit"
_EXPECTED = b"With your edits"


@dataclass(frozen=True)
class EditPlan:
    samples: int = 20
    """Edited runs timed (after one that is not)."""
    timeout_s: float = 60.0
    """How long one page may take before the sample fails."""
    pause_s: float = 3.0
    """Between two samples (a spare worker starts in about a second here)."""
    warm_timeout_s: float = 120.0


def _edit(number: int) -> str:
    """An edit of the measured cell that no other sample makes (a refresh, then the read)."""
    from sqlecho._app.edits import encode_edits

    return encode_edits({_CELL: f'session.refresh(tides)\nprint("title:", tides.title)  # variant {number}'})


class _Reader:
    """One browser tab, minus the drawing: asks for pages by address, times each."""

    def __init__(self) -> None:
        self._socket: object = None
        self._page = ""

    async def connect(self, url: str) -> None:
        import websockets

        self._socket = await websockets.connect(
            url,
            subprotocols=["streamlit"],  # type: ignore[list-item]
            max_size=None,
            compression=None,
            open_timeout=60,
        )

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()  # type: ignore[attr-defined]

    async def show(self, query: str, expected: bytes, timeout: float) -> float:
        """Milliseconds from asking for ``query`` to the end of its script run.

        Raises:
            ServerFailed: the page did not come in time, raised, or did not hold ``expected``.
        """
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        request = BackMsg()
        request.rerun_script.query_string = query
        request.rerun_script.page_script_hash = self._page
        request.rerun_script.widget_states.SetInParent()
        seen = False
        socket = self._socket
        started = time.perf_counter()
        await socket.send(request.SerializeToString())  # type: ignore[attr-defined]
        try:
            async with asyncio.timeout(timeout):
                while True:
                    data = await socket.recv()  # type: ignore[attr-defined]
                    message = ForwardMsg()
                    message.ParseFromString(data)
                    kind = message.WhichOneof("type")
                    if kind == "new_session":
                        self._page = message.new_session.page_script_hash
                    elif kind == "delta":
                        seen = seen or expected in data
                        element = message.delta.new_element
                        if element.WhichOneof("type") == "exception":
                            raise ServerFailed(f"the page raised {element.exception.type}")
                    elif kind == "script_finished":
                        break
        except TimeoutError as exc:
            raise ServerFailed(f"no page within {timeout:g} s") from exc
        elapsed = (time.perf_counter() - started) * 1000
        if not seen:
            raise ServerFailed(f"the page did not say {expected.decode()!r}")
        return elapsed


async def _samples(url: str, plan: EditPlan) -> list[float]:
    reader = _Reader()
    await reader.connect(url)
    try:
        page = f"lesson={_LESSON}&step={_STEP}&predict=0"
        await reader.show(page, b"**Step 3 of", plan.timeout_s)
        await reader.show(f"{page}&edits={_edit(-1)}", _EXPECTED, plan.timeout_s)  # not timed
        times = []
        for number in range(plan.samples):
            await asyncio.sleep(plan.pause_s)
            times.append(await reader.show(f"{page}&edits={_edit(number)}", _EXPECTED, plan.timeout_s))
        return times
    finally:
        await reader.close()


def measure_edit(app_file: Path, folder: Path, plan: EditPlan) -> list[Figure]:
    """edit_view_ms_p50/p95: an edited lesson's run, compared and drawn, on a warm server."""
    if not app_file.is_file():
        return unavailable(FIGURES, no_app(app_file))
    lesson = app_file.parent / "lessons" / f"{_LESSON}.py"
    if not lesson.is_file():
        return unavailable(FIGURES, f"{lesson} is not there")
    try:
        import streamlit.proto.ForwardMsg_pb2  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as exc:
        return unavailable(FIGURES, f"streamlit and websockets are needed ({exc})")
    lessons = folder / "edit_lessons"
    lessons.mkdir(exist_ok=True)
    shutil.copy(lesson, lessons / lesson.name)
    store = folder / "edit_transcripts"
    env = {"SQLECHO_LESSONS": str(lessons), "SQLECHO_CACHE_DIR": str(store), "SQLECHO_RUNNER": "sandbox"}
    try:
        with AppServer(app_file, env, folder / "edit-server.log") as server:
            # Warm: the lesson and its switch runs traced, as on a server that was up before class.
            asyncio.run(_samples(server.stream_url, EditPlan(samples=0, timeout_s=plan.timeout_s)))
            warm_s = wait_for_files(store, 3, plan.warm_timeout_s, settle=5.0)
            times = asyncio.run(_samples(server.stream_url, plan))
    except (ServerFailed, OSError) as exc:
        return unavailable(FIGURES, f"the edited lesson could not be shown: {exc}")
    if not times:
        return unavailable(FIGURES, "no sample was taken")
    details = {
        "samples": len(times),
        "lesson": f"lessons/{_LESSON}.py, step {_STEP}, the cell '{_CELL}' edited",
        "warm_s": warm_s,
        "driver": "Streamlit's websocket protocol, the edits in the page address",
    }
    return [
        Figure("edit_view_ms_p50", round(median(times), 1), details=details),
        Figure("edit_view_ms_p95", round(percentile(times, 95), 1)),
    ]
