"""Serve the app from N replicas behind nginx, for a class larger than one server holds.

    python deploy/serve.py --replicas 2 --port 8080

Starts N ``streamlit run app.py`` on loopback ports (each with its own warm pool of sandbox
workers, all sharing one folder of lesson transcripts, ``SQLECHO_CACHE_DIR``) and nginx in front
of them on ``--host:--port``, then waits; Ctrl-C or SIGTERM stops everything it started.

Streamlit keeps a reader's session in the server process that holds their websocket, so every
request of one browser must reach the same replica: nginx picks the replica by a cookie
(``sqlecho_route``, a random key given on the first request), with consistent hashing. When that
replica stops, nginx sends the browser's reconnection to another one; the page address holds the
lesson, the step and the switches, so the reader is back where they were. The replicas share a
cookie secret, so that a session's XSRF token is good on every one of them.

Only the standard library here; nginx is Debian's package (``apt-get install nginx``). See
docs/deploy.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"
STARTUP_S = 90.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at this moment (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def nginx_config(template: str, *, host: str, port: int, replicas: Sequence[int], run_dir: Path) -> str:
    """The nginx configuration: ``template`` with its ``{{...}}`` placeholders filled in."""
    servers = "\n".join(
        f"        server 127.0.0.1:{replica} max_fails=1 fail_timeout=30s;" for replica in replicas
    )
    # As root, nginx's workers would run as "nobody", who cannot write the run folder.
    user = "user root root;" if os.geteuid() == 0 else ""
    values = {"USER": user, "RUN_DIR": str(run_dir), "LISTEN": f"{host}:{port}", "SERVERS": servers}
    text = template
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def _wait_until_up(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"{what} did not answer within {STARTUP_S:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group (it was started in its own), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(15)
            return
        except subprocess.TimeoutExpired:
            continue


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy/serve.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="app servers (default 2; one per core)")
    parser.add_argument("--host", default="127.0.0.1", help="where nginx listens (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    parser.add_argument(
        "--app", type=Path, default=ROOT / "app.py", help="the app (default: this checkout's)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="shared transcripts (default: SQLECHO_CACHE_DIR or ~/.cache)"
    )
    parser.add_argument("--run-dir", type=Path, help="nginx's configuration, logs and the replicas' logs")
    parser.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx", help="nginx's path")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start the replicas and nginx, wait for a signal, stop them all. Exit status 2: bad usage."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be 1 or more")
    if not Path(args.nginx).exists():
        parser.error(f"nginx not found at {args.nginx} (apt-get install nginx)")
    if not args.app.is_file():
        parser.error(f"no app at {args.app}")
    run_dir = (args.run_dir or Path(tempfile.mkdtemp(prefix="sqlecho-deploy-"))).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ}
    if args.cache_dir is not None:
        env["SQLECHO_CACHE_DIR"] = str(args.cache_dir)
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = secrets.token_hex(16)  # the same on every replica
    ports = [free_port() for _ in range(args.replicas)]
    started: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(_signal: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for number, port in enumerate(ports):
            command = [
                sys.executable, "-m", "streamlit", "run", str(args.app),
                "--server.address", "127.0.0.1", "--server.port", str(port),
                "--server.headless", "true", "--server.fileWatcherType", "none",
                "--browser.gatherUsageStats", "false",
            ]  # fmt: skip
            with open(run_dir / f"replica-{number}.log", "wb") as log:
                started.append(
                    subprocess.Popen(
                        command,
                        cwd=args.app.parent,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            print(f"replica {number}: pid {started[-1].pid}, port {port}", flush=True)
        for number, (port, process) in enumerate(zip(ports, started, strict=True)):
            _wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", process, f"replica {number}")
        config = run_dir / "nginx.conf"
        config.write_text(
            nginx_config(
                TEMPLATE.read_text(), host=args.host, port=args.port, replicas=ports, run_dir=run_dir
            )
        )
        nginx = subprocess.Popen(
            [args.nginx, "-p", str(run_dir), "-c", str(config), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(nginx)
        _wait_until_up(f"http://{args.host}:{args.port}/_stcore/health", nginx, "nginx")
        print(f"serving http://{args.host}:{args.port}/ from {args.replicas} replicas", flush=True)
        while not stopping and nginx.poll() is None:
            time.sleep(0.2)
    finally:
        for process in reversed(started):
            _stop(process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
