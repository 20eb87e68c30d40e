"""Which request a test's HTTP client is sending, so that allow rules by request (``"GET
/legacy/*"``) apply to every capture, not only to those of ``capture_requests``.

While someone asks for it (:func:`requests_tracked`), ``send`` of ``httpx.Client`` and
``httpx.AsyncClient`` (FastAPI's and Starlette's ``TestClient`` is an ``httpx.Client``) is
wrapped so that the request (``GET /legacy/heroes``) is listed as in flight until it returns. A
test client returns once the application has finished the request (its teardown and background
tasks included), so every statement the application sends for it is captured meanwhile, in
whatever thread, and stamped with it. The original methods are put back when the last user
leaves. Nothing else changes: same arguments, same result, same exceptions.

httpx is imported only when it is installed and a test uses a rule by request.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from .._record.watch import requests_in_flight

__all__ = ["describe", "requests_tracked"]

_LOCK = threading.Lock()
_USERS = [0]
# Class -> its own ``send``, while wrapped.
_ORIGINALS: dict[type, Callable[..., object]] = {}


class _URL(Protocol):
    """The parts of an ``httpx.URL`` that name a request."""

    @property
    def path(self) -> str: ...
    @property
    def query(self) -> bytes: ...


class _Request(Protocol):
    """The parts of an ``httpx.Request`` that name it (httpx is optional, so not imported here)."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> _URL: ...


def describe(request: _Request) -> str:
    """``GET /heroes/?offset=2``: the method and path (with the query string) of an httpx request."""
    url = request.url
    query = f"?{url.query.decode()}" if url.query else ""
    return f"{request.method} {url.path}{query}"


def _wrap_sync(original: Callable[..., object]) -> Callable[..., object]:
    def send(self: object, request: _Request, *args: object, **kwargs: object) -> object:
        in_flight = requests_in_flight()
        name = describe(request)
        in_flight.append(name)
        try:
            return original(self, request, *args, **kwargs)
        finally:
            in_flight.remove(name)

    return send


def _wrap_async(
    original: Callable[..., Awaitable[object]],
) -> Callable[..., Awaitable[object]]:
    async def send(self: object, request: _Request, *args: object, **kwargs: object) -> object:
        in_flight = requests_in_flight()
        name = describe(request)
        in_flight.append(name)
        try:
            return await original(self, request, *args, **kwargs)
        finally:
            in_flight.remove(name)

    return send


def _install() -> None:
    if importlib.util.find_spec("httpx") is None:
        return
    import httpx

    for cls, wrap in ((httpx.Client, _wrap_sync), (httpx.AsyncClient, _wrap_async)):
        original = cls.__dict__["send"]
        _ORIGINALS[cls] = original
        cls.send = wrap(original)  # type: ignore[method-assign,assignment]


def _uninstall() -> None:
    for cls, original in _ORIGINALS.items():
        cls.send = original  # type: ignore[attr-defined]
    _ORIGINALS.clear()


@contextmanager
def requests_tracked() -> Iterator[None]:
    """Inside the block, every statement captured while an httpx client sends a request is
    stamped with that request (see the module). Nests, from any thread."""
    with _LOCK:
        if _USERS[0] == 0:
            _install()
        _USERS[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _USERS[0] -= 1
            if _USERS[0] == 0:
                _uninstall()
