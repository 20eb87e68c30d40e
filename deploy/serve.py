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

nginx answers only the host names of ``--server-name`` (default: the ``--host`` it listens on),
runs its workers as ``--nginx-user`` (default ``nobody``) when started as root, keeps Streamlit's
metrics to the replicas' own ports, answers the page's host configuration itself (no foreign
origin may talk to a framed page) and forbids other sites to frame the pages. Which replica
served which route is in ``routes.log`` in the run folder.

Only the standard library here; nginx is Debian's package (``apt-get install nginx``). See
docs/deploy.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import pwd
import re
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


# A host name, an IPv4 address, or an IPv6 address in brackets; "*." and ".name" wildcards as
# nginx reads them. Nothing else reaches the configuration.
_SERVER_NAME = re.compile(r"(\*\.|\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.?)*|\[[0-9A-Fa-f:.]+\]")
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def server_names(names: Sequence[str], host: str) -> list[str]:
    """The host names nginx answers: ``names`` (each may list several, comma-separated), or
    the host it listens on. Raises ValueError, with a one-line message, for a name nginx could
    misread or a wildcard address with no name."""
    found = [name.strip() for item in names for name in item.split(",") if name.strip()]
    if not found:
        if host in _WILDCARD_HOSTS:
            raise ValueError(
                f"--host {host or '(any)'} listens on every address: name the host names readers "
                "use with --server-name (for example --server-name sqlecho.example.org)"
            )
        found = [host]
    named = []
    for name in found:
        try:
            address = ipaddress.ip_address(name)
            name = f"[{address}]" if address.version == 6 else str(address)
        except ValueError:
            pass
        if not _SERVER_NAME.fullmatch(name) or len(name) > 253:
            raise ValueError(f"--server-name {name!r} is not a host name or an address")
        named.append(name.lower())
    return named


def nginx_config(
    template: str,
    *,
    host: str,
    port: int,
    replicas: Sequence[int],
    run_dir: Path,
    names: Sequence[str] | None = None,
    user: str | None = None,
    temp_dir: Path | None = None,
) -> str:
    """The nginx configuration: ``template`` with its ``{{...}}`` placeholders filled in.

    ``names``: the host names to answer (default: ``host``); ``user``: who nginx's workers run
    as when it is started by root (default ``nobody``); ``temp_dir``: the workers' folder for
    request bodies (they must be able to write it; default: ``run_dir``)."""
    servers = "\n".join(
        f"        server 127.0.0.1:{replica} max_fails=1 fail_timeout=30s;" for replica in replicas
    )
    worker = pwd.getpwnam(user or "nobody") if os.geteuid() == 0 else None
    user_line = f"user {worker.pw_name} {_group_name(worker.pw_gid)};" if worker is not None else ""
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    values = {
        "USER": user_line,
        "RUN_DIR": str(run_dir),
        "TEMP_DIR": str(temp_dir or run_dir),
        "LISTEN": listen,
        "SERVER_NAMES": " ".join(names or server_names([], host)),
        "SERVERS": servers,
    }
    text = template
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], what: str, host: str | None = None) -> None:
    deadline = time.monotonic() + STARTUP_S
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
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
    parser.add_argument(
        "--server-name",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name readers use (repeatable, or comma-separated; default: --host); others get 421",
    )
    parser.add_argument(
        "--stepping",
        choices=["browser", "server"],
        help="how lesson pages step (SQLECHO_STEPPING; default: that variable, else browser: "
        "a step costs the server a small message instead of a page run)",
    )
    parser.add_argument(
        "--nginx-user",
        default="nobody",
        help="who nginx's workers run as, when started by root (default nobody)",
    )
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
    try:
        names = server_names(args.server_name, args.host)
        worker = pwd.getpwnam(args.nginx_user) if os.geteuid() == 0 else None
    except ValueError as exc:
        parser.error(str(exc))
    except KeyError:
        parser.error(f"--nginx-user {args.nginx_user!r}: no such user")
    if worker is not None and worker.pw_uid == 0:
        parser.error("--nginx-user must not be root: nginx's workers face the network")
    run_dir = (args.run_dir or Path(tempfile.mkdtemp(prefix="sqlecho-deploy-"))).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    # The workers' own folder for request bodies: theirs alone, outside the run folder (which
    # holds the replicas' logs and stays the invoker's).
    temp_dir = Path(tempfile.mkdtemp(prefix="sqlecho-nginx-"))
    if worker is not None:
        os.chown(temp_dir, worker.pw_uid, worker.pw_gid)
    env = {**os.environ}
    if args.cache_dir is not None:
        env["SQLECHO_CACHE_DIR"] = str(args.cache_dir)
    # A class server steps in the browser unless told otherwise (docs/deploy.md, "Sizing").
    env["SQLECHO_STEPPING"] = args.stepping or env.get("SQLECHO_STEPPING") or "browser"
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
                TEMPLATE.read_text(),
                host=args.host,
                port=args.port,
                replicas=ports,
                run_dir=run_dir,
                names=names,
                user=args.nginx_user,
                temp_dir=temp_dir,
            )
        )
        nginx = subprocess.Popen(
            [args.nginx, "-p", str(run_dir), "-c", str(config), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(nginx)
        address = f"[{args.host}]" if ":" in args.host else args.host
        _wait_until_up(
            f"http://{address}:{args.port}/_stcore/health", nginx, "nginx", host=f"{names[0]}:{args.port}"
        )
        print(f"serving http://{names[0]}:{args.port}/ from {args.replicas} replicas", flush=True)
        while not stopping and nginx.poll() is None:
            time.sleep(0.2)
    finally:
        for process in reversed(started):
            _stop(process)
        shutil.rmtree(temp_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
