"""Worker processes: start one, watch it, and kill everything it started, never anything else.

A process id can be reused as soon as its process has been reaped, so every process we signal
is held by a pidfd (a file descriptor for that very process, Linux 5.3+) or, for a process
group, signalled while its leader is not reaped yet (the group id cannot be reused before).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .cgroup import BASELINE_TASKS, RunCgroup, cgroup_support
from .launch import TOKEN_VARIABLE, Sandbox
from .limits import Limits

__all__ = ["GRACE_S", "Watched", "WorkerProcess", "children", "sweep"]

GRACE_S = 1.0
"""How long after the wall-time limit the parent kills a worker that did not stop itself; also
how long a worker that sent its whole transcript gets to end by itself."""


class WorkerProcess:
    """A started worker: importing its libraries, then waiting for the one job it will run."""

    def __init__(
        self,
        sandbox: Sandbox,
        folders: tuple[Path, ...],
        limits: Limits,
        program: tuple[Path, str] | None = None,
        sockets: tuple[Path, ...] = (),
    ) -> None:
        """Start a worker that may read ``folders``, in a control group of its own sized for
        ``limits`` where this machine allows one (see :meth:`limit`). ``program``: the file (and
        its text) the worker is started for, when it is started for one. ``sockets``: folders
        of servers' sockets the program may connect to (the run's PostgreSQL)."""
        self.cgroup = _cgroup_for(limits)
        read_end, write_end = os.pipe()
        try:
            file, source = program if program is not None else (None, None)
            self.command = sandbox.command(
                folders, limits.scratch, write_end, self.cgroup, file, source, sockets=sockets
            )
        except BaseException:
            os.close(read_end)
            os.close(write_end)
            if self.cgroup is not None:
                self.cgroup.remove()
            raise
        try:
            self.popen = subprocess.Popen(
                self.command.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(write_end,),
                env=self.command.env,
                cwd=self.command.cwd,
                start_new_session=True,  # its own process group, killed as one
            )
        except BaseException:
            os.close(read_end)
            self._remove_files()
            raise
        finally:
            os.close(write_end)
        self.results = read_end
        self.process = Watched(self.popen.pid)
        self.spawned = time.monotonic()
        self._closed = False

    def limit(self, limits: Limits) -> None:
        """Resize the control group for the run about to start (the pool's workers are started
        before their run's limits are known)."""
        if self.cgroup is not None:
            self.cgroup.resize(memory=limits.memory, tasks=limits.processes + BASELINE_TASKS)

    def confine_cpu(self, *, yielding: bool = False) -> None:
        """Put the run under its CPU quota from now on (once the worker's start-up is over);
        ``yielding``: a pasted program, which also gets a low CPU weight (RunCgroup.confine_cpu)."""
        if self.cgroup is not None:
            try:
                self.cgroup.confine_cpu(yielding=yielding)
            except OSError:
                pass  # the probe set the same quota on a trial group: not expected; the run goes on

    def oom_killed(self) -> bool:
        """Did the kernel kill a process of this run because the run as a whole ran out of memory?"""
        return self.cgroup is not None and self.cgroup.oom_killed()

    def covers(self, folder: Path) -> bool:
        """Can this worker run a program from ``folder``? (It must be able to read it.)"""
        if not self.command.confined or not folder.exists():
            return True
        return any(folder.is_relative_to(top) for top in self.command.folders)

    def alive(self) -> bool:
        """Still running (checked without reaping it, so that its process group stays ours)."""
        return not self.process.wait(0)

    def exit_status(self) -> int:
        """How it ended, like ``Popen.returncode``, read without reaping it."""
        info = os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOWAIT)
        assert info is not None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def close(self, finished: bool = False) -> None:
        """Kill the worker and everything it started; idempotent.

        Args:
            finished: it sent its whole transcript and is ending by itself: give it a moment.
        """
        if self._closed:
            return
        self._closed = True
        if finished:
            self.process.wait(GRACE_S)
        # bubblewrap's PID namespace left our process group (--new-session): kill its init,
        # which ends only once everything in the namespace has.
        inner = children(self.popen.pid) if self.command.confined and self.alive() else []
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # not reaped yet: the group id is still ours
        except (ProcessLookupError, PermissionError):
            pass
        for process in inner:
            process.kill()
            process.wait(GRACE_S)
            process.close()
        self.popen.wait()
        self.process.close()
        if not self.command.confined:
            sweep(self.command.token)
        for stream in (self.popen.stdin, self.popen.stderr):
            if stream is not None:
                stream.close()
        os.close(self.results)
        self._remove_files()

    def _remove_files(self) -> None:
        for folder in (self.command.home, self.command.stage) if hasattr(self, "command") else ():
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


def _cgroup_for(limits: Limits) -> RunCgroup | None:
    """A control group for one worker, or None where this machine gives none (said by
    ``cgroup_support().describe()``, which the app and ``sandbox_status()`` show)."""
    support = cgroup_support()
    if not support.version:
        return None
    made = RunCgroup.create(support, memory=limits.memory, tasks=limits.processes + BASELINE_TASKS)
    return made if isinstance(made, RunCgroup) else None


class Watched:
    """One process, held so that waiting for it and killing it always mean this process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):  # an old kernel: fall back to /proc, less exact
            self._fd = None

    def wait(self, timeout: float) -> bool:
        """True once the process has ended (it may not be reaped yet); waits up to ``timeout``."""
        if self._fd is not None:
            poller = select.poll()  # not select(): a busy server has descriptors above 1024
            poller.register(self._fd, select.POLLIN)
            return bool(poller.poll(max(0.0, timeout) * 1000))
        deadline = time.monotonic() + timeout
        while _running(self.pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def kill(self) -> None:
        try:
            if self._fd is not None:
                signal.pidfd_send_signal(self._fd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except OSError:  # ended already
            pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def children(pid: int) -> list[Watched]:
    """The child processes of ``pid`` (for bubblewrap: the init process of its PID namespace)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            return [Watched(int(child)) for child in file.read().split()]
    except OSError:
        return []


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            state = file.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def sweep(token: str, rounds: int = 20) -> None:
    """Kill what a worker outside bubblewrap left behind: every process that carries ``token``
    in its command line or its (initial) environment, such as a child that called ``setsid()``
    to leave the worker's process group. Inside bubblewrap the PID namespace does this."""
    marks = (token.encode(), f"{TOKEN_VARIABLE}={token}".encode())
    for _ in range(rounds):
        found = False
        for pid in _pids():
            process = Watched(pid)  # held before it is looked at: the pid cannot change owner
            if _carries(pid, marks):
                process.kill()
                found = True
            process.close()
        if not found:
            return


def _pids() -> list[int]:
    me = os.getpid()
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != me]


def _carries(pid: int, marks: tuple[bytes, ...]) -> bool:
    for name, mark in zip(("cmdline", "environ"), marks, strict=True):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as file:
                if mark in file.read().split(b"\0"):
                    return True
        except OSError:
            continue
    return False
