"""What a server killed outright (SIGKILL, a crash, the OOM killer) leaves behind, cleared at the
next start: the control groups of its runs and its workers' temporary folders.

Each of them carries the process id of the server that made it (``sqlecho-run-PID-…``,
``sqlecho-view-PID-…``, ``sqlecho-worker-PID-…``); one is stale when no process of that id is
left. A process id reused since is taken as alive: a stale folder then waits for a later start,
which is better than removing a live server's. Only folders of this user are removed, never
through a link.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

from .cgroup import CgroupSupport, cgroup_support

__all__ = ["TEMPORARY_PREFIXES", "sweep_stale", "sweep_stale_once"]

TEMPORARY_PREFIXES = ("sqlecho-view-", "sqlecho-worker-")
"""Temporary folders of workers, each named ``PREFIX`` + the process id of the server + ``-…``."""
_OWNED = re.compile(r"^(?:sqlecho-view-|sqlecho-worker-|sqlecho-run-)(?P<pid>\d+)-")


def _gone(name: str) -> bool:
    """Is the process whose id ``name`` carries gone (and not this one)?"""
    match = _OWNED.match(name)
    if match is None:
        return False
    pid = int(match["pid"])
    return pid != os.getpid() and not os.path.exists(f"/proc/{pid}")


def sweep_stale(support: CgroupSupport | None = None, temporary: Path | None = None) -> list[str]:
    """Remove the run groups and temporary folders of servers that are gone; their names.

    Args:
        support: where this machine's run groups live (default: :func:`cgroup_support`).
        temporary: where the temporary folders are (default: :func:`tempfile.gettempdir`).
    """
    removed = []
    folder = temporary or Path(tempfile.gettempdir())
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for name in names:
        if not name.startswith(TEMPORARY_PREFIXES) or not _gone(name):
            continue
        path = folder / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        # A folder of ours, not a link someone planted under a name like ours.
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    support = support or cgroup_support()
    for place in {place for place in (support.memory, support.pids) if place is not None}:
        try:
            groups = os.listdir(place)
        except OSError:
            continue
        for name in groups:
            if name.startswith("sqlecho-run-") and _gone(name) and _remove_group(place / name):
                removed.append(name)
    return removed


def _remove_group(group: Path) -> bool:
    """Kill what is left in ``group`` and remove it; whether it is gone."""
    kill = group / "cgroup.kill"
    try:
        if kill.exists():
            kill.write_text("1")  # cgroup v2: every process in it, at once
        else:
            for pid in (group / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass
    except OSError:
        pass
    for _ in range(50):
        try:
            group.rmdir()
            return True
        except FileNotFoundError:
            return False
        except OSError:
            time.sleep(0.01)  # the last process is still being torn down
    return False


_swept = False
_swept_lock = threading.Lock()


def sweep_stale_once() -> None:
    """:func:`sweep_stale`, the first time a process starts a worker (never again)."""
    global _swept
    with _swept_lock:
        if _swept:
            return
        _swept = True
    try:
        sweep_stale()
    except OSError:
        pass  # a clean-up: never a reason not to run
