"""Run a trace in a separate, limited worker process and bring its transcript back.

The parent never runs the program: it hands a job to a worker (see :mod:`sqlecho._sandbox.worker`),
reads the steps the worker streams on a dedicated pipe, and kills everything the worker started
once the transcript is complete, a limit is hit, or the worker dies. Whatever the program does,
the parent gets a transcript with the steps up to that point and the error on the last one.
A run can also be cancelled from another thread (the reader pressed Cancel): then there is no
transcript at all, only :class:`RunCancelled`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import selectors
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._trace.options import TraceOptions
from .._transcript import schema
from .._transcript.derive import status_of
from .._transcript.validate import (
    Budget,
    InvalidMessage,
    check_done,
    check_failed,
    check_limit,
    check_step,
    source_line_count,
)
from .databases import DatabaseUnavailable, on_database, unavailable_transcript
from .launch import Sandbox, SandboxRefused, confirm_folder, default_sandbox
from .limits import Limits
from .processes import GRACE_S, WorkerProcess
from .salvage import Ending, crash_line, error_for, salvage_steps, transcript_of
from .tamper import TAMPERED_EXIT

if TYPE_CHECKING:
    from .pool import WorkerPool

__all__ = ["GRACE_S", "Job", "RunCancelled", "run_sandboxed"]

STARTUP_TIMEOUT_S = 30.0
_STDERR_KEPT = 64 * 1024
_OOM_POLL_S = 0.25
"""How often a quiet run's control group is asked whether the kernel killed one of its processes."""


@dataclass(frozen=True)
class Job:
    """One program to trace."""

    source: str
    path: Path
    options: TraceOptions
    name: str
    limits: Limits


class RunCancelled(Exception):
    """The run was cancelled before it ended: its worker is killed and no transcript is made
    (half a run, cut wherever the reader happened to press, is no result to show or keep)."""


class _OutputFull(Exception):
    """The transcript has more values than the output limit allows for (Budget.value_bytes)."""


class _Reader:
    """The parent's side of one run: send the job, read the stream, stop at the first end."""

    def __init__(
        self, worker: WorkerProcess, job: Job, cancel: threading.Event | None = None, yielding: bool = False
    ) -> None:
        self.worker = worker
        self.job = job
        self.yielding = yielding
        """A pasted program: it yields the processor to the server when the cores are busy."""
        self.warm = False
        """The worker said it is ready (its imports are done): the job may be sent."""
        self.cancel = cancel
        self.cancelled = False
        self.steps: list[dict[str, Any]] = []
        self.done: dict[str, Any] | None = None
        self.ending = Ending(confined=worker.command.confined)
        self.received = 0
        self._partial: list[bytes] = []  # the start of a line still being received
        self.source_lines = source_line_count(job.source)
        self.budget = Budget.for_options(job.options)
        self.values = 0  # values received so far (Budget.value_bytes)
        self._stderr = b""
        self.tampered: str | None = None
        """What the supervisor said the program did to the tracer (see tamper.py), if anything."""

    def transcript(self) -> dict[str, Any]:
        started = time.monotonic()
        self._read()
        if self.cancelled:
            raise RunCancelled("the run was cancelled")
        self.ending.elapsed = time.monotonic() - started
        if self.done is not None and not self.worker.oom_killed():
            # The name of the program is the parent's to say: the program shares the tracer's
            # process and may have rewritten it (a reader of the transcript might open it).
            fields = {"steps": self.steps, "source": self.job.name}
            transcript = {key: fields.get(key, value) for key, value in self.done.items()}
            # So is the database the run was given: the parent made it.
            if self.job.options.database_url or self.job.options.database == "postgresql":
                database = {"name": "postgresql", "version": self.job.options.database_version}
                transcript["database"] = database  # in its place when the worker wrote it
            else:
                transcript.pop("database", None)
        else:
            transcript = self._salvaged(self.ending.elapsed)
        if self.tampered is None and self.ending.reported and self.ending.returncode == TAMPERED_EXIT:
            self.tampered = "took away the tracer's way to report tampering, then tampered"
        if self.tampered is not None:
            # Set here, from the supervisor's word: never taken from what the worker sent.
            transcript["tampered"] = {"reason": self.tampered}
        return transcript

    def _payload(self) -> bytes:
        job, worker = self.job, self.worker
        document = {
            "source": job.source,
            "path": str(job.path),
            "name": job.name,
            "options": dataclasses.asdict(job.options),
            "limits": dataclasses.asdict(job.limits),
            "confined": worker.command.confined,
        }
        return json.dumps(document).encode()

    def _read(self) -> None:
        """Read until the transcript is complete, the worker is gone, or a limit is hit."""
        popen, limits = self.worker.popen, self.job.limits
        assert popen.stdin is not None and popen.stderr is not None
        self.worker.limit(limits)
        pending = memoryview(self._payload())
        job_in, errors, results = popen.stdin.fileno(), popen.stderr.fileno(), self.worker.results
        for fd in (job_in, errors, results):
            os.set_blocking(fd, False)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        sending = False
        with selectors.DefaultSelector() as selector:
            selector.register(errors, selectors.EVENT_READ)
            selector.register(results, selectors.EVENT_READ)
            while not (
                self.done
                or self.ending.failed
                or self.ending.reported
                or self.ending.invalid
                or self.ending.reason
            ):
                if self.cancel is not None and self.cancel.is_set():
                    self.cancelled = True
                    return
                if self.warm and not sending:
                    # The worker's start-up is over: from here on, what runs is the job, under
                    # the run's CPU quota (the job is sent only now, so none of it runs before).
                    self.worker.confine_cpu(yielding=self.yielding)
                    selector.register(job_in, selectors.EVENT_WRITE)
                    sending = True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._time_is_up()
                    return
                # The poll bounds how long a cancel waits too (a quiet run wakes every _OOM_POLL_S).
                ready = selector.select(min(remaining, _OOM_POLL_S))
                # Asked only when the run is quiet (reading the group costs ~0.5 ms): a process
                # of the run killed for memory leaves the rest waiting, not writing.
                if not ready and self.worker.oom_killed():
                    return
                for key, _mask in ready:
                    if key.fd == job_in:
                        try:
                            pending = pending[os.write(job_in, pending) :]
                        except BrokenPipeError:
                            pending = pending[:0]
                        if not pending:
                            selector.unregister(job_in)
                            popen.stdin.close()
                        continue
                    data = os.read(key.fd, 1 << 16)
                    if key.fd == errors:
                        self._stderr = (self._stderr + data)[-_STDERR_KEPT:]
                        if not data:
                            selector.unregister(errors)
                    elif not data:
                        # The worker is gone, or the program closed our pipe: wait for its end.
                        self._await_exit(deadline)
                        return
                    elif self.received + len(data) > limits.output:
                        self.ending.reason = "output"
                        return
                    else:
                        self.received += len(data)
                        if self._lines(data):
                            deadline = time.monotonic() + limits.wall_time + GRACE_S

    def _time_is_up(self) -> None:
        # Before the job arrived the worker never started; after, the program ran too long.
        self.ending.reason = "wall_time" if self.ending.started else "startup"

    def _await_exit(self, deadline: float) -> None:
        if self.worker.process.wait(deadline - time.monotonic()):
            self.ending.returncode = self.worker.exit_status()
        else:
            self._time_is_up()

    def _drain_stderr(self) -> None:
        """What the worker wrote to fd 2 just before it died (faulthandler's report)."""
        stream = self.worker.popen.stderr
        if stream is None or stream.closed:
            return
        try:
            while data := os.read(stream.fileno(), 1 << 16):
                self._stderr = (self._stderr + data)[-_STDERR_KEPT:]
        except (BlockingIOError, OSError):
            pass

    def _lines(self, data: bytes) -> bool:
        """Handle the complete lines in ``data``; True when the job has just started."""
        if b"\n" not in data:
            self._partial.append(data)  # a big step arrives in many reads: join it once
            return False
        *lines, rest = b"".join([*self._partial, data]).split(b"\n")
        self._partial = [rest]
        just_started = False
        for line in lines:
            try:
                just_started = self._message(line) or just_started
            except InvalidMessage as exc:
                self.ending.invalid = str(exc)
                break
            except _OutputFull:
                self.ending.reason = "output"
                break
            except Exception as exc:  # noqa: BLE001 - a check that itself failed: still refused
                self.ending.invalid = f"A message could not be checked ({type(exc).__name__})."
                break
        return just_started

    def _message(self, line: bytes) -> bool:
        """Take one message; True when it says the job started. Raises InvalidMessage for
        anything a worker does not send: the program shares the tracer's process and may write
        to its channel, so every field is checked before the server keeps it."""
        if not line.strip():
            return False
        values = line.count(b"{") + line.count(b"[") + line.count(b",")
        self.values += values
        if (
            values > self.budget.max_values_per_line
            or self.values > self.job.limits.output // self.budget.value_bytes
        ):
            # Measured in values rather than bytes, the transcript is over the output limit: what
            # the server would hold once parsed grows with the values, not the bytes.
            raise _OutputFull
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            raise InvalidMessage("A message is not JSON.") from None
        if not isinstance(message, dict) or len(message) != 1:
            raise InvalidMessage("A message is not one record with one kind.")
        ((kind, value),) = message.items()
        if kind == "ready" and not self.ending.started and isinstance(value, dict):
            self.warm = True
            return False
        if kind == "started" and not self.ending.started:
            self.ending.started = True
            return True
        if kind == "step":
            step = check_step(
                value, index=len(self.steps), source_lines=self.source_lines, budget=self.budget
            )
            self.steps.append(step)
        elif kind == "limit":
            self.ending.notices.append(check_limit(value))
        elif kind == "done":
            self.done = check_done(value, steps_received=len(self.steps))
        elif kind == "failed":
            self.ending.failed = check_failed(value)
        elif kind == "tampered" and type(value) is str:
            self.tampered = self.tampered or value[:200]  # only the supervisor sends this kind
        elif kind == "exit" and type(value) is int:
            self.ending.returncode, self.ending.reported = value, True
        else:
            raise InvalidMessage(f"A message of an unknown kind ({str(kind)[:40]!r}).")
        return False

    def _salvaged(self, elapsed: float) -> dict[str, Any]:
        job, ending = self.job, self.ending
        self._drain_stderr()
        ending.out_of_memory = self.worker.oom_killed()
        ending.stderr = self._stderr.decode(errors="replace")
        line = crash_line(ending.stderr, str(job.path))
        error = error_for(ending, job.limits, line)
        if ending.out_of_memory and self.steps and self.steps[-1].get("error"):
            # What the program saw (a time limit while it waited for a killed child, say)
            # follows from the run running out of memory: that is the error to show.
            self.steps[-1]["error"] = {**(error or {}), "line": self.steps[-1]["error"].get("line")}
            steps = self.steps
        else:
            steps = salvage_steps(self.steps, job.source, error, line, job.options.runs_on)
        status = status_of(steps, "ok" if error is None else "error")
        return transcript_of(job.source, job.name, job.options, status, steps, elapsed)


def run_sandboxed(
    source: str,
    path: Path,
    options: TraceOptions,
    name: str,
    *,
    limits: Limits | None = None,
    pool: WorkerPool | None = None,
    sandbox: Sandbox | None = None,
    private: bool = False,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Trace ``source`` as the file ``path`` in a sandboxed worker; same transcript as
    :func:`sqlecho.trace_source`, plus the errors of limits and crashes.

    Args:
        source: the program text.
        path: where the program lives (its folder is readable in the sandbox): a folder that
            exists must hold the program, with the text ``source``, or the run is refused (see
            :func:`~sqlecho._sandbox.launch.confirm_folder`). For pasted code, a path under the
            temporary folder that need not exist.
        options: how to run it; ``options.database`` ``postgresql`` gives the run a fresh
            PostgreSQL database of its own, dropped after (:func:`~sqlecho._sandbox.databases.on_database`;
            one that cannot be had is the transcript's ``DatabaseUnavailable`` error).
        name: the transcript's ``source`` field.
        limits: what the run may use (default: the pool's, else :meth:`Limits.from_environ`).
        pool: take a warm worker from this pool; without one a worker is started for this run.
        sandbox: how to start a worker when there is no pool (default: bubblewrap if it works).
        private: the program's folder exists only inside the sandbox (pasted code): it is made
            in the worker's private ``/tmp`` and never shown from this machine, even if a folder
            of that name exists here. ``path`` must then be under ``/tmp``. Such a run also
            yields the processor to the server when the cores are busy (a low CPU weight).
        cancel: set from another thread to stop the run: the worker and everything it started
            are killed within a fraction of a second, and :class:`RunCancelled` is raised.

    Raises:
        RunCancelled: ``cancel`` was set before the run ended.
    """
    try:
        with on_database(options) as given:
            return _run_sandboxed(
                source,
                path,
                given,
                name,
                limits=limits,
                pool=pool,
                sandbox=sandbox,
                private=private,
                cancel=cancel,
            )
    except DatabaseUnavailable as exc:
        return unavailable_transcript(source, name, options, str(exc))


def _run_sandboxed(
    source: str,
    path: Path,
    options: TraceOptions,
    name: str,
    *,
    limits: Limits | None = None,
    pool: WorkerPool | None = None,
    sandbox: Sandbox | None = None,
    private: bool = False,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """:func:`run_sandboxed` once the run has its database (``options.database_url``)."""
    file = Path(path).absolute()
    if limits is None and pool is not None:
        limits = pool.limits
    if limits is None:
        try:
            limits = Limits.from_environ(os.environ)
        except ValueError as exc:
            error = schema.error("SandboxError", str(exc))
            return transcript_of(source, name, options, "error", salvage_steps([], source, error, None), 0.0)
    job = Job(source, file, options, name, limits)
    folders = () if private else (file.parent,)
    server = None
    if options.database_url:
        from .postgres import socket_folder  # only a run on a server needs it: the parent stays light

        server = socket_folder(options.database_url)
    sockets = (server,) if server is not None else ()  # the run's database server: its only way out
    try:
        if private and not file.is_relative_to("/tmp"):
            raise SandboxRefused(f"a private program must live under /tmp, not {file}")
        pooled = pool is not None and set(sockets) <= set(pool.sockets)
        if pool is not None and server is not None and not pooled:
            pool.show_socket(server)  # this run starts a worker of its own; the next ones find it warm
        if pool is not None and pooled:
            worker = pool.acquire(None if private else file.parent)
        else:
            worker = WorkerProcess(sandbox or default_sandbox(), folders, limits, (file, source), sockets)
        try:
            confirm_folder(worker.command, file, source)
        except BaseException:
            worker.close(finished=False)
            raise
    except (SandboxRefused, OSError, RecursionError) as exc:  # e.g. a folder that cannot be copied
        error = schema.error("SandboxError", str(exc))
        return transcript_of(source, name, options, "error", salvage_steps([], source, error, None), 0.0)
    reader = _Reader(worker, job, cancel, yielding=private)
    try:
        transcript = reader.transcript()
        if worker.command.confined and not reader.ending.started and not reader.cancelled:
            # bubblewrap may have stopped working since it was probed (or remembered, probe.py).
            (pool.sandbox if pool is not None and pooled else sandbox or default_sandbox()).distrust()
        return transcript
    finally:
        if reader.done is not None and pool is not None and pooled:
            # The transcript is whole: the worker ends by itself, and waiting for its namespace
            # to wind down (and its control group to go) is no part of the reader's time.
            pool.retire(worker)
        else:
            worker.close(finished=reader.done is not None)
