"""A deployment of ``deploy/serve.py`` as the deploy tests see it, and how to ask it which replica served a route."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "lessons"
STARTUP_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    url: str
    port: int
    replicas: dict[int, int]
    """Replica port -> the pid of its server (the leader of its own process group)."""
    run_dir: Path


def replica_of(deployment: Deployment, route: str) -> int:
    """The port of the replica that nginx sends the route cookie ``route`` to, read from nginx's
    route log (no answer names a replica)."""
    request = urllib.request.Request(
        f"{deployment.url}/_stcore/health", headers={"Cookie": f"sqlecho_route={route}"}
    )
    log = deployment.run_dir / "routes.log"
    # Only this request's line counts: an earlier request of the same route may have gone to a
    # replica that has died since.
    seen = len(log.read_text()) if log.exists() else 0
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # written as the request ends, a moment after the answer
        # "replica=A, B" when nginx tried A, found it down, and B answered: B served it.
        fresh = log.read_text()[seen:]
        found = re.findall(rf" route={re.escape(route)} replica=(.*):(\d+)$", fresh, re.M)
        if found:
            return int(found[-1][1])
        time.sleep(0.05)
    raise AssertionError(f"nginx logged no replica for the route {route!r}")


@contextmanager
def served(nginx: str, run_dir: Path, env: Mapping[str, str]) -> Iterator[Deployment]:
    """``deploy/serve.py`` with two replicas behind ``nginx``, ``env`` added to this environment
    (the lessons, the class database); yields once it serves, always stopped."""
    port = free_port()
    command = [sys.executable, str(ROOT / "deploy" / "serve.py"), "--replicas", "2", "--port", str(port)]
    command += ["--run-dir", str(run_dir), "--cache-dir", str(run_dir / "transcripts"), "--nginx", nginx]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    try:
        replicas: dict[int, int] = {}
        deadline = time.monotonic() + STARTUP_S
        assert server.stdout is not None
        line = ""
        for line in server.stdout:
            if found := re.match(r"replica \d+: pid (\d+), port (\d+)", line):
                replicas[int(found[2])] = int(found[1])
            if line.startswith("serving") or time.monotonic() > deadline:
                break
        assert line.startswith("serving"), f"the deployment did not start: {line!r}"
        yield Deployment(f"http://127.0.0.1:{port}", port, replicas, run_dir)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
