"""What nginx in front of the replicas lets through, asked of the real nginx that
``deploy/serve.py`` starts: who its workers run as, which paths and host names it answers, and
which headers it sends."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import pwd
import secrets
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from tests.deploy.deployment import Deployment, replica_of
from tests.helpers import ROOT


def _serve() -> ModuleType:
    spec = importlib.util.spec_from_file_location("serve", ROOT / "deploy" / "serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _get(url: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _upgrade(port: int, host: str) -> str:
    """The status line nginx answers a websocket upgrade of ``/_stcore/stream`` for ``Host: host``."""
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n"
        f"Origin: http://{host}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode())
        answer = b""
        while b"\r\n" not in answer:
            data = connection.recv(4096)
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0].decode()


@pytest.mark.nginx
def test_nginx_workers_run_as_an_unprivileged_user(deployment: Deployment) -> None:
    master = int((deployment.run_dir / "nginx.pid").read_text())
    workers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                workers.append(entry)
    assert workers, "nginx has no worker"
    expected = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
    for worker in workers:
        uids = next(line for line in (worker / "status").read_text().splitlines() if line.startswith("Uid:"))
        assert set(uids.split()[1:]) == {str(expected)}, uids


@pytest.mark.nginx
def test_metrics_are_not_served_and_host_config_is_nginx_own(deployment: Deployment) -> None:
    replica = next(iter(deployment.replicas))
    assert _get(f"http://127.0.0.1:{replica}/_stcore/metrics")[0] == 200  # the replica has them
    for path in ("/_stcore/metrics", "/_stcore/metrics/", "/_stcore/%6Detrics", "//_stcore/metrics?x=1"):
        assert _get(deployment.url + path)[0] == 404, path
    status, _headers, body = _get(f"http://127.0.0.1:{replica}/_stcore/host-config")
    assert status == 200 and json.loads(body)["allowedOrigins"]  # Streamlit's: foreign origins
    status, headers, body = _get(f"{deployment.url}/_stcore/host-config")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["allowedOrigins"] == []


@pytest.mark.nginx
def test_no_answer_names_a_replica_but_the_route_log_does(deployment: Deployment) -> None:
    for path in ("/", "/_stcore/health", "/_stcore/host-config", "/no-such-page"):
        headers = {name.lower(): value for name, value in _get(deployment.url + path)[1].items()}
        assert "x-sqlecho-replica" not in headers, path
        assert not any(str(port) in value for value in headers.values() for port in deployment.replicas)
    assert replica_of(deployment, "a-reader") in deployment.replicas


@pytest.mark.nginx
def test_only_the_configured_host_names_are_answered(deployment: Deployment) -> None:
    assert _upgrade(deployment.port, f"127.0.0.1:{deployment.port}") == "HTTP/1.1 101 Switching Protocols"
    for host in ("evil.example", f"evil.example:{deployment.port}", "localhost.evil.example"):
        assert _upgrade(deployment.port, host) == "HTTP/1.1 421 Misdirected Request", host
    assert _get(deployment.url + "/", host="evil.example")[0] == 421


@pytest.mark.nginx
def test_no_other_site_may_frame_the_pages(deployment: Deployment) -> None:
    for path in ("/", "/_stcore/host-config", "/?lesson=01_first_steps&step=2"):
        headers = _get(deployment.url + path)[1]
        assert headers["Content-Security-Policy"] == "frame-ancestors 'self'", path
        assert headers["X-Frame-Options"] == "SAMEORIGIN", path


def test_server_names_default_to_the_host_and_refuse_what_nginx_could_misread() -> None:
    serve = _serve()
    assert serve.server_names([], "127.0.0.1") == ["127.0.0.1"]
    assert serve.server_names([], "::1") == ["[::1]"]
    assert serve.server_names(["Sqlecho.Example.org, www.example.org", "*.school.example"], "0.0.0.0") == [
        "sqlecho.example.org",
        "www.example.org",
        "*.school.example",
    ]
    for bad in ("evil.example; return 200", "a b", "x{y}", "$host", "~.*"):
        with pytest.raises(ValueError, match="is not a host name or an address"):
            serve.server_names([bad], "127.0.0.1")
    with pytest.raises(ValueError, match="listens on every address: name the host names"):
        serve.server_names([], "0.0.0.0")
    config = serve.nginx_config(
        (ROOT / "deploy" / "nginx.conf").read_text(),
        host="0.0.0.0",
        port=8080,
        replicas=[9001],
        run_dir=Path("/run/x"),
        names=["sqlecho.example.org"],
    )
    assert "server_name sqlecho.example.org;" in config and "{{" not in config
    assert "X-Sqlecho-Replica" not in config


def test_a_wildcard_host_without_a_name_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "serve.py"), "--host", "0.0.0.0", "--nginx", sys.executable],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "deploy/serve.py: error: --host 0.0.0.0 listens on every address: name the host names readers "
        "use with --server-name (for example --server-name sqlecho.example.org)"
    )
