"""One memory and process limit for a whole run: a control group per worker.

Resource limits (``RLIMIT_AS``, ``RLIMIT_NPROC``) count one process, or one user; a program that
forks ten children, starts threads or maps shared memory gets around them. A control group
counts everything the run holds together: ``memory.max`` (v1: ``memory.limit_in_bytes``) bounds
the memory of every process in it, page cache and tmpfs included, and ``pids.max`` every process
and thread. When the memory runs out the kernel kills a process of the group, and the parent
reads ``oom_kill`` to say which limit it was. A CPU quota (``cpu.max``; v1:
``cpu.cfs_quota_us``) bounds the processor time of the whole run, however many processes it
starts: one core by default (``SQLECHO_RUN_CPU``), so that a pasted program that forks busy
children cannot take every core; pasted programs also run at a low CPU weight, so that the server
answering its readers goes first whenever the cores are busy.

Both hierarchies are supported: cgroup v2 (one tree; the server's own group must allow the
``memory`` and ``pids`` controllers for its children) and v1 (separate ``memory`` and ``pids``
trees, as on many Debian hosts and containers; ``cpu`` is used where it is there too). Where neither can be used (an unprivileged
server without delegation, a read-only ``/sys/fs/cgroup``), :func:`cgroup_support` says why and
runs fall back to the per-process limits.
"""

from __future__ import annotations

import errno
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = [
    "BASELINE_TASKS",
    "CPU_PERIOD_US",
    "DEFAULT_RUN_CPU",
    "RUN_CPU_WEIGHT",
    "CgroupSupport",
    "RunCgroup",
    "cgroup_support",
    "run_cpu_from_environ",
]

BASELINE_TASKS = 6
"""Tasks of the sandbox itself, not counted against the program's process limit: the launcher
that becomes bubblewrap, bubblewrap's init, the worker's supervisor, the program's process and
Python's crash-report thread, plus one to spare."""

DEFAULT_RUN_CPU = 1.0
"""Cores a run may use at most, all its processes together (``SQLECHO_RUN_CPU``). One core, not
less: a lesson's whole trace (tens of milliseconds of CPU, in several processes) must not wait
for the next period (half a core made a small lesson's first trace 60% slower); the low weight of
pasted programs is what keeps readers fast beside them."""
CPU_PERIOD_US = 200_000
"""The scheduler's accounting period for the quota: a run gets ``cores * period`` per period.
Long enough that a small lesson's whole trace (about 50 ms of CPU) fits in the first period's
share, so that the quota does not slow the traces that stay within it."""
RUN_CPU_WEIGHT = 10
"""A pasted program's share of a busy processor, against the server's 100 (v2 ``cpu.weight``; v1
``cpu.shares`` 102 against 1024): when the cores are contended, the server answering its readers
goes first, and pasted programs take what is left, up to their quota. Lessons keep the normal
weight (they are traced once per server, and a reader may be waiting for one)."""
_MIN_RUN_CPU = 0.01  # the kernel refuses quotas under 1 ms per period


def run_cpu_from_environ(environ: Mapping[str, str]) -> float:
    """Cores per run from ``SQLECHO_RUN_CPU`` (a number like ``0.5``; ``0`` or ``off``: no
    quota). Raises ValueError with a one-line message for anything else."""
    text = environ.get("SQLECHO_RUN_CPU", "").strip().lower()
    if not text:
        return DEFAULT_RUN_CPU
    if text in ("0", "off", "no", "none"):
        return 0.0
    try:
        cores = float(text)
    except ValueError:
        cores = -1.0
    if not _MIN_RUN_CPU <= cores <= 1024:  # also refuses nan and inf
        raise ValueError(
            f"SQLECHO_RUN_CPU={text!r} is not a number of cores from 0.01 to 1024 (or 0 for none)"
        )
    return cores


@dataclass(frozen=True)
class CgroupSupport:
    """Where run groups are made: ``version`` 1 or 2 and the parent folder of each controller;
    ``version`` 0 and ``why`` when they cannot be."""

    version: int
    memory: Path | None = None
    pids: Path | None = None
    why: str = ""
    cpu: Path | None = None
    """Where the CPU quota is set (v2: the same folder as memory); None: no quota, see ``cpu_why``."""
    cores: float = 0.0
    """The quota of a run in cores (0: none)."""
    cpu_why: str = ""

    def describe(self) -> str:
        if not self.version:
            return f"limits per process only: {self.why}"
        if self.cpu is not None and self.cores:
            text = f"one memory, process and CPU limit per run ({self.cores:g} core, cgroup v{self.version})"
        else:
            text = (
                f"one memory and process limit per run (cgroup v{self.version}); no CPU quota: {self.cpu_why}"
            )
        return f"{text}; {self.why}" if self.why else text

    def with_cpu(self, cpu: Path | None, cores: float, why: str) -> CgroupSupport:
        """The same support with the CPU quota decided (``cpu`` None: none, for ``why``)."""
        if cpu is None or not cores:
            return replace(self, cpu=None, cores=0.0, cpu_why=why or "turned off by SQLECHO_RUN_CPU=0")
        return replace(self, cpu=cpu, cores=cores, cpu_why="")


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
    cpu, why = _cpu_v1(mounts, own)
    return CgroupSupport(1, places["memory"], places["pids"]).with_cpu(cpu, 1, why)


def _cpu_v1(mounts: list[tuple[str, str, set[str]]], own: dict[str, str]) -> tuple[Path | None, str]:
    """The v1 ``cpu`` controller's folder for run groups, or None and why not."""
    mount = next((m for m, kind, opts in mounts if kind == "cgroup" and "cpu" in opts), None)
    if mount is None:
        return None, "no cgroup v1 cpu controller is mounted"
    place = Path(mount) / own.get("cpu", "/").lstrip("/")
    if not _writable(place):
        return None, f"cannot create control groups in {place}"
    return place, ""


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
    support = CgroupSupport(2, place, place)
    if "cpu" not in available:
        return support.with_cpu(None, 1, f"the cgroup v2 controller cpu is not delegated to {place}")
    try:
        if "cpu" not in (place / "cgroup.subtree_control").read_text().split():
            (place / "cgroup.subtree_control").write_text("+cpu")
    except OSError as exc:
        return support.with_cpu(None, 1, f"cannot enable the cpu controller in {place} ({exc.strerror})")
    return support.with_cpu(place, 1, "")


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
    try:
        cores = run_cpu_from_environ(os.environ)
        bad_cpu = ""
    except ValueError as exc:  # the server still starts; the status line says what was wrong
        cores, bad_cpu = DEFAULT_RUN_CPU, f"{exc}; using {DEFAULT_RUN_CPU:g}"
    mounts, own = _mounts(), _own_groups()
    reasons = []
    for probe in (_probe_v2, _probe_v1):
        found = probe(mounts, own)
        if isinstance(found, CgroupSupport):
            found = found.with_cpu(found.cpu, cores, found.cpu_why)
            trial = RunCgroup.create(found, memory=64 << 20, tasks=8)
            if isinstance(trial, RunCgroup):
                try:
                    trial.confine_cpu()
                except OSError as exc:  # memory and pids without a quota
                    found = found.with_cpu(None, 0, f"cannot set a CPU quota ({exc.strerror})")
                trial.remove()
            if isinstance(trial, str) and found.cpu is not None:  # memory and pids without a quota
                found = found.with_cpu(None, 0, trial)
                trial = RunCgroup.create(found, memory=64 << 20, tasks=8)
                if isinstance(trial, RunCgroup):
                    trial.remove()
            if isinstance(trial, RunCgroup):
                return replace(found, why=bad_cpu)
            found = trial
        reasons.append(found)
    return CgroupSupport(0, why="; ".join(reasons))


class RunCgroup:
    """The control group of one worker: made before it starts, removed after it ended."""

    def __init__(self, support: CgroupSupport, folders: list[Path]) -> None:
        self.support = support
        self.folders = folders
        """v2: the group's one folder; v1: memory, pids and (with a quota) cpu, in that order."""

    @classmethod
    def create(cls, support: CgroupSupport, *, memory: int, tasks: int) -> RunCgroup | str:
        """A new group limited to ``memory`` bytes and ``tasks`` processes and threads (and, in
        the ``cpu`` hierarchy where ``support`` has one, ready for :meth:`confine_cpu`); a
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
                if support.cpu is not None:
                    cpu_folder = support.cpu / name
                    cpu_folder.mkdir(mode=0o755)
                    made.append(cpu_folder)

        except OSError as exc:
            group.remove()
            return f"cannot create a control group ({exc.strerror}: {exc.filename})"
        return group

    def confine_cpu(self, *, yielding: bool = False) -> None:
        """Apply the CPU quota where this group has one, and with ``yielding`` (a pasted program)
        the low weight :data:`RUN_CPU_WEIGHT`. Called when the program's job is about to start,
        so that the worker's own start-up (importing SQLAlchemy while it waits, before any
        program is known) runs at full speed.

        Raises:
            OSError: the kernel refused the quota.
        """
        if self.support.cpu is None or not self.support.cores:
            return
        quota = max(1000, round(self.support.cores * CPU_PERIOD_US))
        if self.support.version == 2:
            folder = self.folders[0]
            if yielding:
                _try_write(folder / "cpu.weight", str(RUN_CPU_WEIGHT))
            (folder / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
        else:
            folder = self.folders[2]
            if yielding:
                _try_write(folder / "cpu.shares", str(RUN_CPU_WEIGHT * 1024 // 100))
            (folder / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (folder / "cpu.cfs_quota_us").write_text(str(quota))

    def resize(self, *, memory: int, tasks: int) -> None:
        """Change the limits (before the run starts; best effort: a limit that cannot be lowered
        below what the waiting worker already uses stays where it was)."""
        if self.support.version == 2:
            settings = [(self.folders[0], "memory.max", memory), (self.folders[0], "pids.max", tasks)]
        else:
            memory_folder, pids_folder = self.folders[:2]
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
