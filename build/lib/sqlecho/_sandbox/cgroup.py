"""One memory and process limit for a whole run: a control group per worker.

Resource limits (``RLIMIT_AS``, ``RLIMIT_NPROC``) count one process, or one user; a program that
forks ten children, starts threads or maps shared memory gets around them. A control group
counts everything the run holds together: ``memory.max`` (v1: ``memory.limit_in_bytes``) bounds
the memory of every process in it, page cache and tmpfs included, and ``pids.max`` every process
and thread. When the memory runs out the kernel kills a process of the group, and the parent
reads ``oom_kill`` to say which limit it was.

Both hierarchies are supported: cgroup v2 (one tree; the server's own group must allow the
``memory`` and ``pids`` controllers for its children) and v1 (separate ``memory`` and ``pids``
trees, as on many Debian hosts and containers). Where neither can be used (an unprivileged
server without delegation, a read-only ``/sys/fs/cgroup``), :func:`cgroup_support` says why and
runs fall back to the per-process limits.
"""

from __future__ import annotations

import errno
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BASELINE_TASKS", "CgroupSupport", "RunCgroup", "cgroup_support"]

BASELINE_TASKS = 6
"""Tasks of the sandbox itself, not counted against the program's process limit: the launcher
that becomes bubblewrap, bubblewrap's init, the worker's supervisor, the program's process and
Python's crash-report thread, plus one to spare."""


@dataclass(frozen=True)
class CgroupSupport:
    """Where run groups are made: ``version`` 1 or 2 and the parent folder of each controller;
    ``version`` 0 and ``why`` when they cannot be."""

    version: int
    memory: Path | None = None
    pids: Path | None = None
    why: str = ""

    def describe(self) -> str:
        if self.version:
            return f"one memory and process limit per run (cgroup v{self.version})"
        return f"limits per process only: {self.why}"


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file-system type, options) of every cgroup mount, from mountinfo."""
    found = []
    try:
        with open("/proc/self/mountinfo") as file:
            for line in file:
                left, _, right = line.partition(" - ")
                fields, after = left.split(), right.split()
                if len(fields) < 5 or len(after) < 3 or not after[0].startswith("cgroup"):
                    continue
                options = set(after[2].split(",")) | set(fields[5].split(",") if len(fields) > 5 else [])
                found.append((fields[4].replace("\\040", " "), after[0], options))
    except OSError:
        pass
    return found


def _own_groups() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's group path, from /proc/self/cgroup."""
    groups: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as file:
            for line in file:
                _id, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    groups[name] = path
    except OSError:
        pass
    return groups


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def _probe_v1(mounts: list[tuple[str, str, set[str]]], own: dict[str, str]) -> CgroupSupport | str:
    places: dict[str, Path] = {}
    for name in ("memory", "pids"):
        mount = next((m for m, kind, opts in mounts if kind == "cgroup" and name in opts), None)
        if mount is None:
            return f"no cgroup v1 {name} controller is mounted"
        place = Path(mount) / own.get(name, "/").lstrip("/")
        if not _writable(place):
            return f"cannot create control groups in {place} (not delegated to this user)"
        places[name] = place
    return CgroupSupport(1, places["memory"], places["pids"])


def _probe_v2(mounts: list[tuple[str, str, set[str]]], own: dict[str, str]) -> CgroupSupport | str:
    mount = next((m for m, kind, _opts in mounts if kind == "cgroup2"), None)
    if mount is None or "" not in own:
        return "no cgroup v2 hierarchy"
    place = Path(mount) / own[""].lstrip("/")
    try:
        available = (place / "cgroup.controllers").read_text().split()
    except OSError:
        return f"cannot read {place / 'cgroup.controllers'}"
    missing = [name for name in ("memory", "pids") if name not in available]
    if missing:
        return f"the cgroup v2 controllers {', '.join(missing)} are not delegated to {place}"
    if not _writable(place):
        return f"cannot create control groups in {place} (not delegated to this user)"
    try:
        enabled = (place / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(enabled):
            _enable_v2(place)
    except OSError as exc:
        return f"cannot enable the memory and pids controllers in {place} ({exc.strerror})"
    return CgroupSupport(2, place, place)


def _enable_v2(place: Path) -> None:
    """Turn on memory and pids for children of ``place``. A group with controllers for its
    children may hold no process itself, so the server moves into a leaf group first."""
    control = place / "cgroup.subtree_control"
    try:
        control.write_text("+memory +pids")
        return
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise
    leaf = place / "sqlecho-server"
    leaf.mkdir(exist_ok=True)
    for pid in (place / "cgroup.procs").read_text().split():
        try:
            (leaf / "cgroup.procs").write_text(pid)
        except OSError:
            pass  # a process of someone else's; enabling below then fails and says so
    control.write_text("+memory +pids")


_support: CgroupSupport | None = None
_support_lock = threading.Lock()


def cgroup_support() -> CgroupSupport:
    """How runs are limited as a whole on this machine (probed once per process)."""
    global _support
    with _support_lock:
        if _support is None:
            _support = _probe()
        return _support


def _probe() -> CgroupSupport:
    if os.environ.get("SQLECHO_CGROUP", "").lower() in ("0", "off", "no"):
        return CgroupSupport(0, why="turned off by SQLECHO_CGROUP=0")
    mounts, own = _mounts(), _own_groups()
    reasons = []
    for probe in (_probe_v2, _probe_v1):
        found = probe(mounts, own)
        if isinstance(found, CgroupSupport):
            trial = RunCgroup.create(found, memory=64 << 20, tasks=8)
            if isinstance(trial, RunCgroup):
                trial.remove()
                return found
            found = trial
        reasons.append(found)
    return CgroupSupport(0, why="; ".join(reasons))


class RunCgroup:
    """The control group of one worker: made before it starts, removed after it ended."""

    def __init__(self, support: CgroupSupport, folders: list[Path]) -> None:
        self.support = support
        self.folders = folders

    @classmethod
    def create(cls, support: CgroupSupport, *, memory: int, tasks: int) -> RunCgroup | str:
        """A new group limited to ``memory`` bytes and ``tasks`` processes and threads; a
        sentence saying why not when it cannot be made."""
        name = f"sqlecho-run-{os.getpid()}-{secrets.token_hex(4)}"
        made: list[Path] = []
        group = cls(support, made)
        try:
            if support.version == 2:
                assert support.memory is not None
                folder = support.memory / name
                folder.mkdir(mode=0o755)
                made.append(folder)
                (folder / "memory.max").write_text(str(memory))
                _try_write(folder / "memory.swap.max", "0")
                (folder / "pids.max").write_text(str(tasks))
            else:
                assert support.memory is not None and support.pids is not None
                memory_folder, pids_folder = support.memory / name, support.pids / name
                memory_folder.mkdir(mode=0o755)
                made.append(memory_folder)
                (memory_folder / "memory.limit_in_bytes").write_text(str(memory))
                _try_write(memory_folder / "memory.memsw.limit_in_bytes", str(memory))
                pids_folder.mkdir(mode=0o755)
                made.append(pids_folder)
                (pids_folder / "pids.max").write_text(str(tasks))
        except OSError as exc:
            group.remove()
            return f"cannot create a control group ({exc.strerror}: {exc.filename})"
        return group

    def resize(self, *, memory: int, tasks: int) -> None:
        """Change the limits (before the run starts; best effort: a limit that cannot be lowered
        below what the waiting worker already uses stays where it was)."""
        if self.support.version == 2:
            settings = [(self.folders[0], "memory.max", memory), (self.folders[0], "pids.max", tasks)]
        else:
            memory_folder, pids_folder = self.folders
            settings = [
                (memory_folder, "memory.memsw.limit_in_bytes", memory),
                (memory_folder, "memory.limit_in_bytes", memory),
                (memory_folder, "memory.memsw.limit_in_bytes", memory),
                (pids_folder, "pids.max", tasks),
            ]
        for folder, name, value in settings:
            try:
                (folder / name).write_text(str(value))
            except OSError:
                pass  # memsw must stay >= limit: one of the two memsw writes fails, the other holds

    @property
    def procs_files(self) -> list[str]:
        """The files a process writes its pid to, to join the group (before it starts the run)."""
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def oom_killed(self) -> bool:
        """Did the kernel kill a process of this group for want of memory?"""
        folder = self.folders[0] if self.folders else None
        if folder is None:
            return False
        name = "memory.events" if self.support.version == 2 else "memory.oom_control"
        try:
            text = (folder / name).read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def remove(self) -> None:
        """Delete the group's folders (its processes must be gone; retried briefly)."""
        for folder in reversed(self.folders):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)  # the last process is still being torn down
        self.folders = []


def _try_write(path: Path, value: str) -> None:
    """Optional settings (swap accounting may be off): skipped when the file is missing."""
    try:
        path.write_text(value)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EACCES, errno.EPERM):
            raise
