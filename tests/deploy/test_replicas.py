"""Two app replicas behind nginx (``deploy/serve.py``), read by two real browsers.

Each reader is pinned to a replica by the route cookie; one replica is stopped, and its reader's
page reconnects through nginx to the other one, at the same lesson and step, because the page
address holds them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.nginx]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

FIXTURES = ROOT / "tests" / "fixtures" / "lessons"
WAIT_MS = 60_000
STARTUP_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    url: str
    replicas: dict[int, int]
    """Replica port -> the pid of its server (the leader of its own process group)."""


def _replica_of(url: str, route: str) -> int:
    """The port of the replica that nginx sends the route cookie ``route`` to."""
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": f"sqlecho_route={route}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.headers["X-Sqlecho-Replica"].rpartition(":")[2])


@pytest.fixture(scope="module")
def deployment(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """``deploy/serve.py`` with two replicas serving the fixture lessons; always stopped."""
    run_dir = tmp_path_factory.mktemp("deploy")
    port = free_port()
    env = {**os.environ, "SQLECHO_LESSONS": str(FIXTURES), "SQLECHO_POOL_SIZE": "1"}
    command = [sys.executable, str(ROOT / "deploy" / "serve.py"), "--replicas", "2", "--port", str(port)]
    command += ["--run-dir", str(run_dir), "--cache-dir", str(run_dir / "transcripts"), "--nginx", nginx]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        replicas: dict[int, int] = {}
        deadline = time.monotonic() + STARTUP_S
        assert server.stdout is not None
        for line in server.stdout:
            if found := re.match(r"replica \d+: pid (\d+), port (\d+)", line):
                replicas[int(found[2])] = int(found[1])
            if line.startswith("serving") or time.monotonic() > deadline:
                break
        assert line.startswith("serving"), f"the deployment did not start: {line!r}"
        yield Deployment(f"http://127.0.0.1:{port}", replicas)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def _reader(browser: object, deployment: Deployment, route: str, address: str) -> object:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    context.add_cookies([{"name": "sqlecho_route", "value": route, "url": deployment.url}])
    page = context.new_page()
    page.goto(f"{deployment.url}/{address}")
    return page


def test_a_reader_whose_replica_stops_continues_on_the_other(browser: object, deployment: Deployment) -> None:
    # One route cookie per replica, found by asking nginx (its answer names the replica).
    routes: dict[int, str] = {}
    for number in range(64):
        routes.setdefault(_replica_of(deployment.url, f"reader-{number}"), f"reader-{number}")
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
        assert _replica_of(deployment.url, routes[doomed]) == staying
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
