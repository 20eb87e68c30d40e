"""A real ``streamlit run app.py`` for the benchmark: on a free loopback port, always stopped.

The server runs in its own process group, so that stopping it also stops the processes it started
in that group; nothing else is ever signalled. (Its sandbox workers have their own groups and die
with it.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["AppServer", "ServerFailed", "free_port"]

_HOST = "127.0.0.1"
_POLL_S = 0.2
_STOP_TIMEOUT_S = 10.0


class ServerFailed(RuntimeError):
    """The server did not start, or stopped while it was needed."""


def free_port() -> int:
    """A TCP port nobody listens on at this moment (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


class AppServer:
    """Context manager: ``streamlit run app_file`` with ``env`` added, ready when entered.

    Args:
        app_file: the app's ``app.py``; the server runs in its folder (its ``.streamlit/``).
        env: environment variables for the server, on top of this process's.
        options: Streamlit settings for the command line, e.g. ``("runner.postScriptGC", "false")``.
        log: where the server's output goes (read back when it fails to start).
        start_timeout: seconds to wait for its health check to answer.
    """

    def __init__(
        self,
        app_file: Path,
        env: dict[str, str],
        log: Path,
        options: tuple[tuple[str, str], ...] = (),
        start_timeout: float = 60.0,
    ) -> None:
        self.app_file = app_file
        self.options = options
        self.env = env
        self.log = log
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    @property
    def stream_url(self) -> str:
        return f"ws://{_HOST}:{self.port}/_stcore/stream"

    def __enter__(self) -> AppServer:
        self.port = free_port()
        argv = [
            sys.executable, "-m", "streamlit", "run", str(self.app_file),
            "--server.address", _HOST,
            "--server.port", str(self.port),
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        for name, value in self.options:
            argv += [f"--{name}", value]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=self.app_file.parent,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"the server exited with status {self.process.returncode}: {self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(_POLL_S)
        raise ServerFailed(f"the server did not answer within {self.start_timeout:g} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"

    def cpu_seconds(self) -> float | None:
        """CPU time the server process (all its threads, not its workers) has used so far."""
        if self.process is None:
            return None
        try:
            with open(f"/proc/{self.process.pid}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it lingers; idempotent."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, _STOP_TIMEOUT_S), (signal.SIGKILL, _STOP_TIMEOUT_S)):
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if process.returncode is None:
            process.kill()
            process.wait()
