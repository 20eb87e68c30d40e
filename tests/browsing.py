"""What the browser tests share: a real ``streamlit run app.py`` on a free port, and Chromium.

Servers start in a subprocess, are polled until they answer, and are always stopped (datasette's
pattern); Chromium is Debian's, driven by Playwright, with the flags that keep it off a network
this machine does not have.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_S = 60
WAIT_MS = 30_000  # a first trace runs in a fresh sandbox worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], what: str = "streamlit") -> None:
    """Poll ``url``'s health address until it answers; raise if the server exits or never does."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{what} exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{what} did not answer within {STARTUP_S} s")


@contextmanager
def streamlit_app(log_dir: Path, env: Mapping[str, str]) -> Iterator[str]:
    """``streamlit run app.py`` with ``env`` added to this environment; yields its address and
    stops it however the block ends (its output goes to ``log_dir/server.log``)."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += ["--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with (log_dir / "server.log").open("wb") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, server)
            yield url
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def chromium_browser(chromium: str) -> Iterator[Any]:
    """A headless Chromium through Playwright, closed however the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Any, url: str, width: int = 1280, height: int = 720) -> Any:
    """A new page of its own context, ``width`` x ``height``, at ``url``."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(url)
    return page


def shot(page: Any, name: str) -> Path:
    """Save a screenshot of ``page`` as ``test-artifacts/<name>.png`` (to look at after a run)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
