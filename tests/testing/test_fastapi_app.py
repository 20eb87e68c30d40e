"""The test API on a FastAPI application written as SQLModel's tutorial writes one
(``heroes_api``): what a request really sends, and no false N+1 across requests."""

import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from sqlecho import capture
from sqlecho.testing import (
    NPlusOne,
    assert_count,
    assert_no_n_plus_one,
    capture_requests,
    n_plus_one_report,
)
from tests.testing.heroes_api import make_app, new_engine

with warnings.catch_warnings():
    # Starlette asks for another HTTP client than the httpx that FastAPI's TestClient uses.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::starlette.exceptions.StarletteDeprecationWarning")

APP = "tests/testing/heroes_api.py"


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = new_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(make_app(engine)) as client:
        yield client


@pytest.fixture
def shared_session_client(engine: Engine) -> Iterator[TestClient]:
    """The tutorial's test setup: every request gets the test's one Session."""
    app = make_app(engine)
    with Session(engine) as session:
        app.dependency_overrides[app.state.get_session] = lambda: session
        with TestClient(app) as client:
            yield client


def test_a_commit_in_the_dependencys_teardown_is_in_the_requests_capture(client: TestClient) -> None:
    with capture_requests(client) as requests:
        client.post("/heroes/", json={"name": "Deadpond"})
    [post] = requests
    assert_count(post, insert=1, commit=1)
    assert not post.active


def test_a_background_task_and_its_n_plus_one_are_in_the_requests_capture(client: TestClient) -> None:
    with capture_requests(client) as requests:
        client.post("/audited/", json={"name": "Deadpond"})
    [post] = requests
    assert_count(post, insert=2, commit=2)
    [finding] = n_plus_one_report(post)
    assert (finding.cause, finding.count) == ("lazy load Hero.team", 3)  # the new hero has no team


def test_the_sessions_closing_rollback_is_in_the_requests_capture(engine: Engine) -> None:
    app = make_app(engine)

    def read_only() -> Iterator[Session]:
        with Session(engine) as session:  # no commit: closing it rolls back
            yield session

    app.dependency_overrides[app.state.get_session] = read_only
    with TestClient(app) as client, capture_requests(client) as requests:
        client.get("/heroes/1")
    assert_count(requests[0], select=2, rollback=1)


def test_the_response_models_n_plus_one_is_reported_at_the_query(client: TestClient) -> None:
    with capture_requests(client) as requests:
        client.get("/heroes/")
    with pytest.raises(AssertionError, match=rf"{APP}:\d+ \(where the parent rows were loaded\)"):
        assert_no_n_plus_one(requests[0])


def test_two_requests_for_one_hero_each_are_not_an_n_plus_one(shared_session_client: TestClient) -> None:
    with capture() as cap:
        assert shared_session_client.get("/heroes/1").json()["team"]["name"] == "Team 0"
        assert shared_session_client.get("/heroes/2").json()["team"]["name"] == "Team 1"
    assert cap.count("select") == 4  # a hero and its team, twice
    assert_no_n_plus_one(cap)


def test_paginating_twice_is_not_a_repeated_query(shared_session_client: TestClient) -> None:
    with capture() as cap:
        shared_session_client.get("/async/heroes/", params={"limit": 1})
        shared_session_client.get("/async/heroes/", params={"offset": 1, "limit": 1})
    assert_no_n_plus_one(cap)


def test_savepoint_joined_test_sessions_are_separate_units_of_work(engine: Engine) -> None:
    # SQLAlchemy's recipe for tests that roll back: each request's Session joins the test's
    # outer transaction through a savepoint.
    app = make_app(engine)
    with engine.connect() as connection:
        outer = connection.begin()

        def joined() -> Iterator[Session]:
            with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
                yield session
                session.commit()

        app.dependency_overrides[app.state.get_session] = joined
        with TestClient(app) as client, capture() as cap:
            client.get("/heroes/1")
            client.get("/heroes/2")
        outer.rollback()
    assert cap.count("select") == 4
    assert_no_n_plus_one(cap)


def test_loads_for_refreshed_rows_are_placed_at_the_refresh(client: TestClient) -> None:
    with capture_requests(client) as requests:
        client.post("/refreshed/")
    [finding] = n_plus_one_report(requests[0])
    assert finding.file == APP and finding.line is not None
    assert finding.located == "parent rows"


def test_loads_in_a_template_are_placed_at_the_templates_line(client: TestClient) -> None:
    with capture_requests(client) as requests:
        client.get("/page/heroes/")
    [finding] = n_plus_one_report(requests[0])
    assert finding.where == "tests/testing/templates/heroes.html:4"


def test_an_async_endpoint_is_captured(client: TestClient) -> None:
    with capture_requests(client) as requests:
        client.get("/async/heroes/")
    assert_count(requests[0], select=1, commit=1)
    assert_no_n_plus_one(requests[0])


def test_requests_served_in_the_tests_own_thread_are_separate_too(engine: Engine) -> None:
    # httpx's ASGITransport runs the application in the test's thread: the test's frames are
    # on the stack under every endpoint's.
    import asyncio

    import httpx

    app = make_app(engine)
    shared = Session(engine)  # the tutorial's fixture: one Session for every request
    app.dependency_overrides[app.state.get_session] = lambda: shared

    async def main() -> tuple[list[NPlusOne], list[NPlusOne]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with capture() as separate:
                for number in (1, 2):
                    await client.get(f"/heroes/{number}")
            with capture() as listing:
                await client.get("/heroes/")
        return n_plus_one_report(separate), n_plus_one_report(listing)

    separate, listing = asyncio.run(main())
    shared.close()
    assert separate == []
    assert [finding.cause for finding in listing] == ["lazy load Hero.team"]
