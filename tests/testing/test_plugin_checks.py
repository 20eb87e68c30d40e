"""The automatic checks of the pytest plugin, run for real with pytester: unused eager loads,
and allow rules by request, which apply to the whole test's capture."""

from __future__ import annotations

import warnings

import pytest
import sqlalchemy.orm  # noqa: F401 - imported once for every pytester run (see test_pytest_plugin)

import sqlecho.testing.assertions  # noqa: F401 - the same
import sqlecho.testing.eager  # noqa: F401 - the same
import sqlecho.testing.inflight  # noqa: F401 - the same
import sqlecho.testing.nplusone  # noqa: F401 - the same
from tests.testing.test_pytest_plugin import MODELS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import fastapi.testclient

pytest_plugins = ["pytester"]

EAGER = """
    import pytest
    from sqlalchemy import select
    from sqlalchemy.orm import Session, selectinload
    from example_models import Hero

    def heroes(session):
        return session.scalars(select(Hero).options(selectinload(Hero.team))).all()

    {marker}
    def test_names_only(engine):
        with Session(engine) as session:
            assert [hero.name for hero in heroes(session)] == ["Hero 0", "Hero 1"]

    {marker}
    def test_team_names(engine):
        with Session(engine) as session:
            assert [hero.team.name for hero in heroes(session)] == ["Team 0", "Team 1"]
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A test project with two models and an ``engine`` fixture (plain SQLAlchemy)."""
    pytester.makepyfile(example_models=MODELS)
    pytester.makeconftest(
        """
        import pytest
        from example_models import make_engine

        @pytest.fixture
        def engine():
            engine = make_engine()
            yield engine
            engine.dispose()
        """
    )
    return pytester


@pytest.mark.parametrize(
    ("marker", "switch"),
    [
        ("@pytest.mark.sqlecho_no_unused_eager_loads", []),
        ("", ["--sqlecho-no-unused-eager-loads"]),
        ("", ["-o", "sqlecho_no_unused_eager_loads=true"]),
    ],
    ids=["marker", "option", "ini"],
)
def test_the_automatic_unused_eager_load_check(
    project: pytest.Pytester, marker: str, switch: list[str]
) -> None:
    project.makepyfile(test_eager=EAGER.format(marker=marker))
    result = project.runpytest("-p", "no:cacheprovider", "--strict-markers", *switch)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*unused eager loads: 1 relationship loaded up front and never read",
            "*test_eager.py:7: Hero.team was loaded by selectinload() for Hero#1, Hero#2, and nothing read it",
            "*fix: drop selectinload(Hero.team) from this select(Hero) (it sends a SELECT for nothing)",
            "FAILED test_eager.py::test_names_only*",
        ]
    )
    assert "plugin.py" not in result.stdout.str()


def test_the_unused_eager_load_check_is_off_by_default(project: pytest.Pytester) -> None:
    project.makepyfile(test_eager=EAGER.format(marker=""))
    project.runpytest("-p", "no:cacheprovider", "--sqlecho-no-n-plus-one").assert_outcomes(passed=2)


# An application with an N+1 on two routes, one of them legacy.
API = """
    import pytest
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool
    from sqlecho.testing import allow_n_plus_one
    from example_models import Base, Hero, Team

    @pytest.fixture
    def engine():
        # One in-memory database for the application's threads too.
        engine = create_engine("sqlite://", connect_args={{"check_same_thread": False}}, poolclass=StaticPool)
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add_all([Hero(name=f"Hero {{n}}", team=Team(name=f"Team {{n}}")) for n in range(2)])
            session.commit()
        yield engine
        engine.dispose()

    @pytest.fixture
    def client(engine):
        app = FastAPI()

        def team_names():
            with Session(engine) as session:
                return [hero.team.name for hero in session.scalars(select(Hero))]

        app.get("/legacy/teams")(team_names)
        app.get("/teams")(team_names)
        with TestClient(app) as client:
            yield client

    def test_legacy(client):
        assert client.get("/legacy/teams").json() == ["Team 0", "Team 1"]

    def test_new(client):
        assert client.get("/teams").json() == ["Team 0", "Team 1"]

    def test_legacy_then_new(client):
        client.get("/legacy/teams")
        client.get("/teams")

    def test_the_tests_own_loop(client, engine):
        client.get("/legacy/teams")
        with Session(engine) as session:
            [hero.team.name for hero in session.scalars(select(Hero))]

    {marker}
    def test_a_block(client):
        with allow_n_plus_one("GET /legacy/*"):
            client.get("/legacy/teams")
"""


@pytest.mark.parametrize(
    ("marker", "switch"),
    [
        ("pytestmark = pytest.mark.sqlecho_allow_n_plus_one('GET /legacy/*')", []),
        ("", ["-o", "sqlecho_allow_n_plus_one=GET /legacy/*"]),
    ],
    ids=["marker", "ini"],
)
def test_rules_by_request_apply_to_the_whole_tests_check(
    project: pytest.Pytester, marker: str, switch: list[str]
) -> None:
    project.makepyfile(test_api=API.format(marker=marker))
    result = project.runpytest(
        "-p", "no:cacheprovider", "--sqlecho-no-n-plus-one", "-W", "ignore::DeprecationWarning", *switch
    )
    result.assert_outcomes(passed=2, failed=3)
    for failed in ("test_new", "test_legacy_then_new", "test_the_tests_own_loop"):
        result.stdout.fnmatch_lines([f"FAILED test_api.py::{failed} - *N+1 queries*"])


def test_without_a_rule_by_request_every_route_fails(project: pytest.Pytester) -> None:
    project.makepyfile(test_api=API.format(marker=""))
    result = project.runpytest(
        "-p", "no:cacheprovider", "--sqlecho-no-n-plus-one", "-W", "ignore::DeprecationWarning"
    )
    result.assert_outcomes(passed=1, failed=4)  # the block's own rule still allows its request
    import httpx

    assert httpx.Client.send.__module__ == "httpx._client"  # put back after the run


def test_a_block_with_a_rule_by_request_allows_that_requests_loads_in_any_capture() -> None:
    from sqlecho import capture
    from sqlecho.testing import allow_n_plus_one, n_plus_one_report
    from tests.testing.heroes_api import make_app, new_engine

    engine = new_engine()
    allowed = allow_n_plus_one("GET /heroes/*")
    with fastapi.testclient.TestClient(make_app(engine)) as client:
        for _ in range(2):  # the same block object, used twice
            with capture() as cap, allowed:
                client.get("/heroes/")
            assert n_plus_one_report(cap) == []
        with capture() as cap, allowed:
            client.get("/page/heroes/")  # another request: its N+1 is reported
        assert [finding.cause for finding in n_plus_one_report(cap)] == ["lazy load Hero.team"]
    engine.dispose()
