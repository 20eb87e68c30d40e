"""The worker process: import the heavy libraries, wait for one job, trace it, stream the steps.

Started as ``python -c "from sqlecho._sandbox.worker import main; main()" RESULT_FD TOKEN UID WARM``
(WARM ``warm``: a worker started ahead of time, which runs :func:`~sqlecho._sandbox.warmup.warm_up`
before it says it is ready; ``-`` for one whose job comes at once). It talks
to its parent in JSON lines on RESULT_FD, never on stdout (the program may write to fd 1 or close
it): ``{"ready": ...}`` once warm, ``{"started": true}`` when the job arrived, ``{"step": STEP}``
for every finished step, ``{"limit": NAME}`` when a limit fired, ``{"done": TRANSCRIPT}`` (its
"steps" holding the number of steps sent) or ``{"failed": ERROR}``, and last ``{"exit": STATUS}``.
The job is one JSON document on stdin. One job per process: the next program gets a fresh
interpreter.

The program never holds RESULT_FD. At start the worker forks: the parent becomes the
*supervisor* (``supervisor.py``, another user: the program cannot signal it or read its
``/proc`` entry), which holds RESULT_FD, forwards only the message kinds a tracer sends and
reports how the worker ended; the child goes on as the worker and, when the job arrives, becomes
the program's own user and traces it, writing to a pipe. Whatever the program writes, the server
still gets a truthful ``exit`` and validates everything else (see _validate.py): the program can
garble its own transcript, never the server. A second pipe to the supervisor carries only the
audit hook's word that the program reached into the tracer (see tamper.py), so that the server,
not the worker, marks such a transcript.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import json
import os
import resource
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

# The point of a warm worker: these imports are done before the job arrives.
import pydantic  # noqa: F401
import sqlalchemy
import sqlalchemy.dialects.sqlite.pysqlite  # noqa: F401
import sqlmodel
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .._trace.options import TraceOptions
from .._trace.steps import Closing
from .._trace.tracer import trace_source
from .._transcript.derive import status_of
from . import seccomp, tamper
from .limits import Limits, exception_for, limit_error, limit_of_error
from .privileges import check_unprivileged, drop_to
from .protocol import FOLDERS_VARIABLE, encode
from .salvage import CHANNEL_LOST
from .warmup import warm_up

__all__ = ["main"]

# Audit events of the program starting another process (RLIMIT_NPROC makes these fail).
_SPAWN_EVENTS = frozenset(
    {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen"}
)
_hard_exit = os._exit
_RETRY_S = 0.05  # a limit that fired at an unsafe moment is raised again this much later
_SQLITE_CHECK_EVERY = 10_000  # SQLite VM instructions between chances to stop a long query


class Channel:
    """JSON lines to the parent. Whole lines only: a signal never splits one."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.busy = False
        self._pending: list[bytes] = []

    def send(self, message: Mapping[str, object]) -> None:
        self.busy = True
        try:
            self._write(encode(message))
            while self._pending:
                self._write(self._pending.pop(0))
        finally:
            self.busy = False

    def notice(self, message: Mapping[str, object]) -> None:
        """Send from a signal handler: queued if a line is being written."""
        if self.busy:
            self._pending.append(encode(message))
        else:
            self.send(message)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]


class Guard:
    """Turns limits into exceptions inside the program and marks the steps that hit them."""

    def __init__(self, limits: Limits, channel: Channel) -> None:
        self.limits = limits
        self.channel = channel
        self.fired: str | None = None
        """The limit whose exception was raised in the program, once one was."""
        self.noticed = False
        self.spawned = False
        self.stop_after_step = False
        self.hit: str | None = None
        """The limit recorded on a step, once one is."""
        self.closing = Closing()
        """True while the tracer closes a step (given to the tracer)."""

    def arm(self) -> None:
        """Signal handlers, timers and the crash reporter, just before the program starts."""
        limits = self.limits
        signal.signal(signal.SIGALRM, lambda _s, _frame: self._hit("wall_time"))
        signal.signal(signal.SIGPROF, lambda _s, _frame: self._hit("cpu_time"))
        signal.signal(signal.SIGXCPU, lambda _s, _frame: self._hit("cpu_time"))
        # The write that crossed the file-size limit fails (EFBIG) where it happened: only note it.
        signal.signal(signal.SIGXFSZ, lambda _s, _frame: self._note("file_size"))
        # A crash or a hang in C code still tells the parent which line it was on (fd 2).
        faulthandler.enable(file=sys.__stderr__ or 2, all_threads=False)
        try:
            faulthandler.dump_traceback_later(limits.wall_time + 0.5, file=2)
        except RuntimeError:  # no thread left under the process limit: only the line is lost
            pass
        sys.addaudithook(self._audit)
        os.register_at_fork(after_in_child=self._in_child)
        os._exit = _exit_with_report
        event.listen(Engine, "connect", _interruptible)
        signal.setitimer(signal.ITIMER_REAL, limits.wall_time)
        signal.setitimer(signal.ITIMER_PROF, limits.cpu_time)

    def disarm(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        for number in (signal.SIGALRM, signal.SIGPROF, signal.SIGXCPU):
            signal.signal(number, signal.SIG_IGN)
        faulthandler.cancel_dump_traceback_later()

    def _note(self, name: str) -> None:
        if not self.noticed:
            # If the program swallows the error and is killed later, the parent knows why.
            self.noticed = True
            self.channel.notice({"limit": name})
        if name == "file_size":
            self.fired = name

    def _hit(self, name: str) -> None:
        self._note(name)
        if self.channel.busy or self.closing:
            # Raising now would break the transcript, not the program: try again shortly.
            if name == "wall_time":
                signal.setitimer(signal.ITIMER_REAL, _RETRY_S)
            elif name == "cpu_time":
                signal.setitimer(signal.ITIMER_PROF, _RETRY_S)
            return
        self.fired = name
        raise exception_for(name, self.limits)

    def _audit(self, event_name: str, _args: tuple[object, ...]) -> None:
        if event_name in _SPAWN_EVENTS:
            self.spawned = True

    def _in_child(self) -> None:
        # A forked copy of the program must not write into its parent's transcript.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, self.channel.fd)
        os.close(null)

    def on_step(self, step: dict[str, Any]) -> None:
        """Stream a finished step, its error turned into a limit error where it is one."""
        error = step.get("error")
        if error:
            name = limit_of_error(error, self.fired, self.spawned)
            if name is not None:
                step["error"] = limit_error(name, self.limits, error.get("line"))
                self.hit = name
                # A "raises-exception" cell that hit a limit must not let the lesson go on.
                self.stop_after_step = bool(error.get("expected"))
        self.channel.send({"step": step})
        if self.stop_after_step:
            raise _Stopped


class _Stopped(BaseException):
    """The run is over although the tracer would go on (see Guard.on_step)."""


def _exit_with_report(status: int) -> NoReturn:
    """``os._exit`` for the program: first say where it was called (as a crash would, fd 2)."""
    faulthandler.dump_traceback(file=2, all_threads=False)
    _hard_exit(status)


def _interruptible(dbapi_connection: object, _record: object) -> None:
    # Python signal handlers only run between bytecodes: without a Python callback, a runaway
    # query (a recursive CTE without end) would be killed from outside, losing the step.
    set_handler = getattr(dbapi_connection, "set_progress_handler", None)
    if set_handler is not None:
        set_handler(lambda: 0, _SQLITE_CHECK_EVERY)


def apply_rlimits(limits: Limits) -> None:
    """Kernel limits: the backstop when the program ignores or escapes the exceptions."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + limits.cpu_seconds() + 1
    settings = {
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        # The hard limit leaves room to record the error after a MemoryError.
        resource.RLIMIT_AS: (limits.memory, limits.memory + 64 * 1024 * 1024),
        resource.RLIMIT_NPROC: (limits.processes, limits.processes),
        resource.RLIMIT_NOFILE: (limits.open_files, limits.open_files),
        resource.RLIMIT_FSIZE: (limits.file_size, limits.file_size),
        resource.RLIMIT_CORE: (0, 0),
    }
    for kind, (soft, hard) in settings.items():
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(kind, (soft, hard))


def _become_program_user(job: Mapping[str, object]) -> None:
    """Give up every privilege before the program runs (confined runs; see _privileges.py).

    As root, ``job["uid"]`` is the program's user (the supervisor has the one before); as a
    normal user bubblewrap's user namespace already left no capability. Either way the worker
    checks, and a run that still holds anything does not start.
    """
    uid = job.get("uid")
    if isinstance(uid, int):
        drop_to(uid)
    if job.get("confined"):
        check_unprivileged()


def _quiet_stdio() -> None:
    """fd 0 and 1 become /dev/null; fd 2 stays the parent's pipe for crash reports."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)


def run(job: dict[str, Any], channel: Channel, arm_tamper: Callable[[], None] | None = None) -> None:
    """Trace the job's program and send its steps and transcript; with ``arm_tamper``
    (tamper.prepare), a program that reaches into the tracer is reported (see tamper.py)."""
    limits = Limits(**job["limits"])
    path = Path(job["path"])
    guard = Guard(limits, channel)
    _quiet_stdio()
    _become_program_user(job)
    if job.get("confined") and not path.parent.exists():
        # Pasted code: its folder exists only inside the sandbox (and only under /tmp, the one
        # writable place), as if the program had been saved there.
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass
    apply_rlimits(limits)
    options = TraceOptions(**job["options"])
    guard.arm()
    if arm_tamper is not None:
        arm_tamper()  # last: what the worker itself did before is no tampering
    try:
        transcript = trace_source(
            job["source"],
            path,
            options,
            on_step=guard.on_step,
            source_name=job["name"],
            closing=guard.closing,
        )
    except BaseException as exc:  # noqa: BLE001 - whatever broke, the parent must hear of it
        guard.disarm()
        # Room to report, in case memory ran out outside the program's own code.
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        limit = guard.hit or guard.fired
        channel.send({"failed": {"type": type(exc).__name__, "message": str(exc), "limit": limit}})
        return
    guard.disarm()
    transcript["status"] = status_of(transcript["steps"], transcript["status"])
    transcript["steps"] = len(transcript["steps"])
    channel.send({"done": transcript})


SUPERVISOR = str(Path(__file__).with_name("supervisor.py"))


def _check_folders() -> None:
    """Refuse to run unless each program folder shown as it is is the one the parent looked at
    (see protocol.FOLDERS_VARIABLE): bubblewrap bound it by its path, which a link may have taken."""
    for path, device, inode in json.loads(os.environ.pop(FOLDERS_VARIABLE, "") or "[]"):
        info = os.stat(path)
        if (info.st_dev, info.st_ino) != (device, inode):
            raise RuntimeError(
                f"The program's folder {path} was replaced while the sandbox was being made; nothing was run."
            )


def main() -> None:
    """Entry point of the worker process: ``RESULT_FD TOKEN UID WARM`` (UID ``-`` when not root).

    Before the job exists, the worker splits in two (see the module's docstring): this process
    forks, the parent becomes the small supervisor (a user of its own, the channel's holder) by
    exec, and the child goes on as the worker, writing to a pipe of its own. Forking here, while
    warm and waiting, keeps the fork off the run's time, and the exec means the two share no
    memory that the program's writes would have to copy.
    """
    result_fd, uid = int(sys.argv[1]), None if sys.argv[3] == "-" else int(sys.argv[3])
    # The filter goes on before anything untrusted exists; every process inherits it.
    missing = seccomp.install() if seccomp.has_filter() else None
    read_end, write_end = os.pipe()
    tamper_read, tamper_write = os.pipe()
    child = os.fork()
    if child != 0:
        os.close(write_end)
        os.close(tamper_write)
        os.close(0)  # the job is the worker's to read
        for fd in (read_end, tamper_read):
            os.set_inheritable(fd, True)  # pipes are close-on-exec by default
        try:
            if uid is not None:
                drop_to(uid)
            arguments = [str(result_fd), str(read_end), str(child), str(tamper_read)]
            os.execv(sys.executable, [sys.executable, "-S", "-I", SUPERVISOR, *arguments])
        finally:
            _hard_exit(CHANNEL_LOST)  # only if exec failed: the worker's channel is gone with us
    os.close(read_end)
    os.close(tamper_read)
    os.close(result_fd)  # the program never holds the server's channel
    channel = Channel(write_end)
    arm_tamper = tamper.prepare(tamper_write)
    if sys.argv[4:5] == ["warm"]:
        warm_up()
        # A run on PostgreSQL (which a spare worker may get) uses psycopg: imported while
        # waiting, where it is installed. A worker started for its job imports it only if that
        # job's program connects to PostgreSQL (a sixth of a small SQLite run's time otherwise).
        with contextlib.suppress(ImportError):
            importlib.import_module("psycopg")
            importlib.import_module("sqlalchemy.dialects.postgresql.psycopg")
    versions = {"sqlalchemy": sqlalchemy.__version__, "sqlmodel": sqlmodel.__version__}
    channel.send({"ready": {"versions": versions}})
    status = 0
    try:
        job = json.loads(sys.stdin.buffer.read())
        channel.send({"started": True})
        _check_folders()
        if missing is not None:
            raise RuntimeError(f"the sandbox could not install its system-call filter ({missing})")
        run({**job, "uid": None if uid is None else uid + 1}, channel, arm_tamper)
    except BaseException as exc:  # noqa: BLE001 - e.g. a job the worker cannot read
        try:
            channel.send({"failed": {"type": type(exc).__name__, "message": str(exc)}})
        except OSError:
            status = CHANNEL_LOST
    finally:
        # Skip atexit handlers and object finalizers the program may have left behind.
        _hard_exit(status)
