"""A browser tab without the browser: Streamlit's websocket protocol, as much as a reader needs.

A tab opens a websocket to ``/_stcore/stream`` and asks for a page with a ``BackMsg`` whose
``rerun_script`` carries the page address (``query_string``); the server runs the script and
streams ``ForwardMsg`` messages back (``new_session`` first, the page's ``delta`` elements, and
``script_finished`` last). The tab times that round trip and checks what the page said.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tab"]


@dataclass
class Tab:
    """One reader on one lesson: the pages they asked for, how long each took, what went wrong."""

    stem: str
    of: int
    """Steps of the lesson: the M of "Step N of M" that every page must show."""
    seed: int
    """For this reader's pauses between steps (reproducible)."""
    opened_ms: float | None = None
    step_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _socket: Any = None
    _page: str = ""

    async def connect(self, url: str) -> None:
        import websockets

        # No compression: the clients share the server's cores and should cost it little.
        self._socket = await websockets.connect(
            url,
            subprotocols=["streamlit"],  # type: ignore[list-item]
            max_size=None,
            compression=None,
            open_timeout=60,
        )

    async def show(self, step: int, timeout: float) -> float | None:
        """Ask for page ``step``; milliseconds until the script finished, or None on a failure."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        request = BackMsg()
        # Predict mode off: every step is drawn whole, the heaviest case (and the same for all).
        request.rerun_script.query_string = f"lesson={self.stem}&step={step}&predict=0"
        # The page the server last ran (from its new_session message), as a browser sends it.
        request.rerun_script.page_script_hash = self._page
        request.rerun_script.widget_states.SetInParent()
        expected = f"**Step {step} of {self.of}**".encode()
        seen = False
        started = time.perf_counter()
        await self._socket.send(request.SerializeToString())
        try:
            async with asyncio.timeout(timeout):
                while True:
                    data = await self._socket.recv()
                    message = ForwardMsg()
                    message.ParseFromString(data)
                    kind = message.WhichOneof("type")
                    if kind == "new_session":
                        self._page = message.new_session.page_script_hash
                    elif kind == "delta":
                        seen = seen or expected in data
                        element = message.delta.new_element
                        if element.WhichOneof("type") == "exception":
                            problem = f"{element.exception.type}: {element.exception.message}"
                            self.errors.append(f"step {step}: {problem}")
                    elif kind == "script_finished":
                        break
        except TimeoutError:
            self.errors.append(f"step {step}: no answer within {timeout:g} s")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        if not seen:
            self.errors.append(f"step {step}: the page did not show 'Step {step} of {self.of}'")
            return None
        return elapsed

    async def open(self, url: str, timeout: float) -> None:
        """Connect and show step 1 (``opened_ms``); failures are recorded, never raised."""
        try:
            await self.connect(url)
            self.opened_ms = await self.show(1, timeout)
        except Exception as exc:  # noqa: BLE001 - one broken tab must not end the others
            self.errors.append(f"open: {type(exc).__name__}: {exc}")

    async def step_through(self, last: int, think_s: float, timeout: float) -> None:
        """Steps 2..``last`` with a pause of ``think_s`` (0.5x-1.5x, seeded) before each."""
        if self.opened_ms is None:
            return
        rng = random.Random(self.seed)
        try:
            for step in range(2, last + 1):
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
                elapsed = await self.show(step, timeout)
                if elapsed is None:
                    return
                self.step_ms.append(elapsed)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"stepping: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    def correct(self, last: int) -> bool:
        """Every page from 1 to ``last`` came, in time, showing the right step."""
        return not self.errors and self.opened_ms is not None and len(self.step_ms) == last - 1
