"""``deploy/serve.py`` with two replicas serving the fixture lessons, shared by the deploy tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.deploy.deployment import FIXTURES, STARTUP_S, Deployment, free_port
from tests.helpers import ROOT


@pytest.fixture(scope="package")
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
