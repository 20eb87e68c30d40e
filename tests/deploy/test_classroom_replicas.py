"""One class served by two replicas behind nginx (``deploy/serve.py``), sharing PostgreSQL.

The teacher's browser is pinned to one replica and the student's to the other (route cookies);
the student joins with the code the other replica made, answers, and the teacher's view shows
the answer: the class lives in the database, not in a server process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.deployment import Deployment, replica_of, served
from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.nginx, pytest.mark.postgres]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

WAIT_MS = 60_000
PREDICT = ROOT / "tests" / "fixtures" / "predict"


@pytest.fixture(scope="module")
def shared_class(
    nginx: str, postgres_databases: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Two replicas whose class database is one PostgreSQL database; always stopped."""
    database = postgres_databases.acquire()
    run_dir = tmp_path_factory.mktemp("deploy-class")
    env = {"SQLECHO_LESSONS": str(PREDICT), "SQLECHO_POOL_SIZE": "1", "SQLECHO_CLASS_DB": database.url()}
    try:
        with served(nginx, run_dir, env) as deployment:
            yield deployment
    finally:
        postgres_databases.release(database)


def _browser_on(browser: Any, deployment: Deployment, route: str, address: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sqlecho_route", "value": route, "url": deployment.url}])
    page = context.new_page()
    page.goto(f"{deployment.url}/{address}")
    return page


def test_a_teacher_and_a_student_on_two_replicas_share_one_class(
    browser: Any, shared_class: Deployment
) -> None:
    routes: dict[int, str] = {}
    for number in range(64):
        routes.setdefault(replica_of(shared_class, f"class-{number}"), f"class-{number}")
    assert len(routes) == 2, "nginx sent every route to one replica"
    one, other = sorted(routes)
    teacher = _browser_on(browser, shared_class, routes[one], "teacher")
    student = None
    try:
        teacher.get_by_role("button", name="Start a class").click()
        heading = teacher.get_by_role("heading", name=re.compile("Class code:"))
        expect(heading).to_be_visible(timeout=WAIT_MS)
        code = heading.inner_text().split(":", 1)[1].strip()
        student = _browser_on(browser, shared_class, routes[other], f"?lesson=01_predict&step=2&class={code}")
        student.get_by_role("textbox", name="Nickname").fill("Ana")
        student.get_by_role("button", name="Join the class").click()
        expect(student.get_by_text("as Ana")).to_be_visible(timeout=WAIT_MS)
        student.get_by_label("How many INSERT statements?").fill("3")
        student.get_by_label("How many COMMITs?").fill("1")
        student.get_by_role("radio", name="persistent").click()
        student.get_by_role("button", name="Check my prediction").click()
        expect(student.get_by_text("Not quite")).to_be_visible(timeout=WAIT_MS)
        cell = teacher.locator('td.sqe-heat[data-step="2"][data-question="1"]')
        expect(cell).to_have_attribute("data-wrong", "1", timeout=10_000)
        expect(teacher.get_by_text("1 student joined")).to_be_visible()
        assert (
            replica_of(shared_class, routes[one]) == one and replica_of(shared_class, routes[other]) == other
        )
    finally:
        teacher.context.close()
        if student is not None:
            student.context.close()
