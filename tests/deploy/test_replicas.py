"""Two app replicas behind nginx (``deploy/serve.py``), read by two real browsers.

Each reader is pinned to a replica by the route cookie; one replica is stopped, and its reader's
page reconnects through nginx to the other one, at the same lesson and step, because the page
address holds them.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from tests.deploy.deployment import Deployment, replica_of

pytestmark = [pytest.mark.browser, pytest.mark.nginx]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

WAIT_MS = 60_000


def _reader(browser: object, deployment: Deployment, route: str, address: str) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    context.add_cookies([{"name": "sqlecho_route", "value": route, "url": deployment.url}])
    page = context.new_page()
    page.goto(f"{deployment.url}/{address}")
    return page


def test_a_reader_whose_replica_stops_continues_on_the_other(browser: object, deployment: Deployment) -> None:
    # One route cookie per replica, found by asking nginx (its log names the replica).
    routes: dict[int, str] = {}
    for number in range(64):
        routes.setdefault(replica_of(deployment, f"reader-{number}"), f"reader-{number}")
    assert set(routes) == set(deployment.replicas), "nginx sent every route to one replica"
    doomed, staying = sorted(routes)
    first = _reader(browser, deployment, routes[doomed], "?lesson=01_first_steps&step=4")
    second = _reader(browser, deployment, routes[staying], "?lesson=02_relationships&step=2")
    try:
        expect(first.get_by_text("Step 4 of 8", exact=False)).to_be_visible(timeout=WAIT_MS)
        expect(second.get_by_text("Step 2 of 5", exact=False)).to_be_visible(timeout=WAIT_MS)
        first.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
        expect(first).to_have_url(re.compile(r"lesson=01_first_steps&step=5"))

        os.killpg(deployment.replicas[doomed], signal.SIGKILL)  # the replica dies, sessions and all

        # The page reconnects through nginx to the other replica, which starts a new session
        # from the address: the same lesson and step, and "Next" goes on from there.
        expect(first.get_by_role("heading", name="First steps with a Session")).to_be_visible(timeout=WAIT_MS)
        expect(first.get_by_text("Step 5 of 8", exact=False)).to_be_visible(timeout=WAIT_MS)
        assert replica_of(deployment, routes[doomed]) == staying
        next_button = first.get_by_role("button", name="Next")  # type: ignore[attr-defined]
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:  # clicks before the reconnection are lost with the socket
            next_button.click()
            try:
                expect(first.get_by_text("Step 6 of 8", exact=False)).to_be_visible(timeout=3000)
                break
            except AssertionError:
                continue
        expect(first.get_by_text("Step 6 of 8", exact=False)).to_be_visible()
        expect(first).to_have_url(re.compile(r"lesson=01_first_steps&step=6"))

        second.get_by_role("button", name="Next").click()  # type: ignore[attr-defined]
        expect(second.get_by_text("Step 3 of 5", exact=False)).to_be_visible(timeout=WAIT_MS)
    finally:
        first.context.close()  # type: ignore[attr-defined]
        second.context.close()  # type: ignore[attr-defined]
