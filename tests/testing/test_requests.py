"""``capture_requests``: one capture per request of an httpx client (a TestClient is one)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from sqlecho.testing import RequestCapture, assert_count, capture_requests


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


def _app(engine: Engine) -> httpx.MockTransport:
    """A stand-in application: each request runs one SELECT per ``n`` in its query string."""

    def handle(request: httpx.Request) -> httpx.Response:
        with engine.connect() as conn:
            for number in range(int(request.url.params.get("n", "1"))):
                conn.execute(text(f"SELECT {number}"))
        return httpx.Response(200)

    return httpx.MockTransport(handle)


def test_each_request_gets_its_own_capture(engine: Engine) -> None:
    with httpx.Client(transport=_app(engine), base_url="http://test") as client:
        with capture_requests(client) as requests:
            client.get("/heroes/", params={"n": 1})
            client.post("/heroes/?n=3")
        assert client.event_hooks == {"request": [], "response": []}  # the hooks are gone
        client.get("/after")  # not captured

    first, second = requests
    assert isinstance(first, RequestCapture)
    assert (first.request, second.request) == ("GET /heroes/?n=1", "POST /heroes/?n=3")
    assert first.statements == ["SELECT 0"]
    assert_count(second, select=3)
    assert not first.active and not second.active
    assert repr(second) == "<RequestCapture POST /heroes/?n=3: 3 statements>"


def test_an_async_client_works_too(engine: Engine) -> None:
    async def main() -> list[RequestCapture]:
        transport = _app(engine)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with capture_requests(client) as requests:
                await client.get("/", params={"n": 2})
        return requests

    [only] = asyncio.run(main())
    assert only.statements == ["SELECT 0", "SELECT 1"]


def test_something_else_than_a_client_is_explained(engine: Engine) -> None:
    with pytest.raises(
        TypeError, match="capture_requests\\(\\) takes an httpx client or a TestClient, not Engine"
    ):
        with capture_requests(engine):
            pass
