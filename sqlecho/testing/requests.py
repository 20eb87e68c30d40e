"""One capture per HTTP request of a test client: ``capture_requests(client)``.

    with capture_requests(client) as requests:
        client.post("/heroes/", json={"name": "Deadpond"})
        client.get("/heroes/")
    assert_no_n_plus_one(requests[-1])      # the GET alone
    assert requests[-1].request == "GET /heroes/"

Works with FastAPI's/Starlette's ``TestClient`` and any ``httpx.Client`` or ``httpx.AsyncClient``,
through httpx's public event hooks: a capture opens when a request is sent and closes when its
response is closed. A test client (Starlette's) closes the response once the application has
finished the request: the ASGI call returned, so the teardown of ``yield`` dependencies (a commit
there, the session's closing ROLLBACK) and background tasks are in the request's capture. With no
target each capture watches every engine, so the engine the application really uses is heard
whatever dependency override the test installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._record.capture import Capture
from .inflight import describe

if TYPE_CHECKING:
    import httpx

__all__ = ["RequestCapture", "capture_requests"]


class RequestCapture(Capture):
    """A :class:`~sqlecho.Capture` of one request; ``request`` says which (``GET /heroes/``)."""

    def __init__(self, request: str, *targets: object) -> None:
        super().__init__(*targets)
        self.request = request
        """Method and path (with the query string) of the request."""

    def __repr__(self) -> str:
        return f"<RequestCapture {self.request}: {self.count()} statements>"


def _closing_stream(stream: Any, cap: RequestCapture) -> Any:
    """``stream`` (a response's body) wrapped to close ``cap`` after itself, sync or async.

    httpx reads and closes only its own stream types, so the wrapper is one (httpx is imported
    here, not with this module: only a test that has an httpx client gets here).
    """
    import httpx

    class ClosingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
        def _done(self) -> None:
            if cap.active:
                cap.__exit__(None, None, None)

        def __iter__(self) -> Iterator[bytes]:
            yield from stream

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in stream:
                yield chunk

        def close(self) -> None:
            try:
                if hasattr(stream, "close"):
                    stream.close()
            finally:
                self._done()

        async def aclose(self) -> None:
            try:
                if hasattr(stream, "aclose"):
                    await stream.aclose()
            finally:
                self._done()

    return ClosingStream()


@contextmanager
def capture_requests(client: Any, *targets: object) -> Iterator[list[RequestCapture]]:
    """Capture the SQL of each request ``client`` sends inside the block, separately.

    Args:
        client: an ``httpx.Client`` (FastAPI's ``TestClient`` is one) or ``httpx.AsyncClient``.
        targets: what each capture watches (as :func:`sqlecho.capture`); none: every engine.

    Yields:
        The list of :class:`RequestCapture`, one per request in the order they were sent,
        growing as the block runs.
    """
    hooks = getattr(client, "event_hooks", None)
    if not isinstance(hooks, dict):
        raise TypeError(
            f"capture_requests() takes an httpx client or a TestClient, not {type(client).__name__}"
        )
    captures: list[RequestCapture] = []
    is_async = hasattr(client, "aclose")  # httpx.AsyncClient: its hooks must be coroutines

    def opened(request: httpx.Request) -> None:
        cap = RequestCapture(describe(request), *targets)
        captures.append(cap)
        cap.__enter__()

    def close_all() -> None:
        for cap in captures:
            if cap.active:
                cap.__exit__(None, None, None)

    def closed(response: httpx.Response) -> None:
        # The application may still be running (streaming the body, then its teardown and
        # background tasks): close the capture with the response, which waits for all that.
        cap = next((cap for cap in reversed(captures) if cap.active), None)
        if cap is None:
            return
        if response.is_closed or response.is_stream_consumed:
            # Read and closed already (a body given whole, as a mock transport does): the
            # application has finished.
            cap.__exit__(None, None, None)
        else:
            response.stream = _closing_stream(response.stream, cap)

    async def opened_async(request: httpx.Request) -> None:
        opened(request)

    async def closed_async(response: httpx.Response) -> None:
        closed(response)

    on_request, on_response = (opened_async, closed_async) if is_async else (opened, closed)
    hooks.setdefault("request", []).append(on_request)
    hooks.setdefault("response", []).append(on_response)
    client.event_hooks = hooks
    try:
        yield captures
    finally:
        hooks = client.event_hooks
        hooks["request"].remove(on_request)
        hooks["response"].remove(on_response)
        client.event_hooks = hooks
        close_all()  # a request that raised before its response, a response never closed
