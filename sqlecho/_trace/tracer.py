"""Run a SQLModel/SQLAlchemy program step by step and record its transcript.

A file in ``# %%`` cell format runs one cell per step; any other file runs one executed line per
step, like a debugger's "step into" (``sys.settrace`` with a local tracer only for the traced
file's frames, so library code runs untraced). This module runs the program in the current
process; :mod:`sqlecho._sandbox.runner` runs it in a separate, limited process.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from .._transcript.limits import LimitExceeded
from .._transcript.schema import TRANSCRIPT_VERSION
from .._transcript.values import mask_addresses
from ..transcript import Transcript
from .cells import has_cells, run_header, step_cells
from .errors import CaughtError, error_record
from .isolation import ProgramEnvironment, reset_sqlmodel
from .options import TraceOptions
from .output import OutputCapture
from .recording import Recording
from .scratch import ScratchDatabases
from .server import ServerDatabase
from .stepping import LineStepper
from .steps import Closing

__all__ = ["TRANSCRIPT_VERSION", "TraceOptions", "in_process", "trace", "trace_source"]

StepCallback = Callable[[dict[str, object]], None]


def trace(
    path: str | os.PathLike[str],
    options: TraceOptions | None = None,
    *,
    on_step: StepCallback | None = None,
    source_name: str | None = None,
) -> Transcript:
    """Trace the program in ``path`` in this process and return its transcript (JSON-safe data).

    Args:
        path: a Python file: a lesson in ``# %%`` cell format or any plain script.
        options: how to run it; see :class:`TraceOptions`.
        on_step: called with each finished step, as soon as it is finished (for streaming).
        source_name: the ``source`` field of the transcript (default: ``path`` as given).
    """
    file = Path(path)
    source = file.read_text(encoding="utf-8-sig")
    # The dict that trace_source builds has exactly the shape that Transcript names.
    return cast(Transcript, trace_source(source, file, options, on_step=on_step, source_name=source_name))


def trace_source(
    source: str,
    path: str | os.PathLike[str],
    options: TraceOptions | None = None,
    *,
    on_step: StepCallback | None = None,
    source_name: str | None = None,
    closing: Closing | None = None,
) -> dict[str, Any]:
    """Trace ``source`` as if it were the file ``path`` (which need not exist).

    Args:
        source: the program text.
        path: where the program "lives": its folder is the working directory and import root.
        options: how to run it.
        on_step: called with each finished step, as soon as it is finished (for streaming).
        source_name: the ``source`` field of the transcript (default: ``path`` as given).
        closing: true while the tracer closes a step (see :class:`~sqlecho._trace.steps.Closing`).
    """
    with _ONE_AT_A_TIME:
        return _trace_source(source, path, options or TraceOptions(), on_step, source_name, closing)


def in_process(
    source: str,
    path: Path,
    options: TraceOptions,
    name: str,
    *,
    limits: object = None,
    pool: object = None,
    private: bool = False,
    cancel: threading.Event | None = None,
) -> dict[str, object]:
    """The :class:`~sqlecho._trace.options.Runner` that traces in this process, one trace at a time.

    For trusted programs only (the lessons, ``--in-process``): there are no limits, no pool, no
    private folder and no way to stop a run halfway, so ``limits``, ``pool``, ``private`` and
    ``cancel`` are ignored.
    """
    return trace_source(source, path, options, source_name=name)


# A run changes process-wide state (sys.stdout, __main__, the working directory, SQLAlchemy's
# class-level listeners): two in-process runs must never overlap. The sandbox gives each run its
# own process; this lock covers callers that trace in-process from several threads.
_ONE_AT_A_TIME = threading.Lock()


def _trace_source(
    source: str,
    path: str | os.PathLike[str],
    options: TraceOptions,
    on_step: StepCallback | None,
    source_name: str | None,
    closing: Closing | None = None,
) -> dict[str, object]:
    file = Path(path).absolute()
    scratch = Path(tempfile.mkdtemp(prefix="sqlecho-"))
    started = time.perf_counter()
    run = _Run(source, file, options, scratch, on_step, closing)
    try:
        run.execute()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    transcript = run_header(
        source_name if source_name is not None else os.fspath(path), source, options, run.status
    )
    transcript["steps"] = run.steps.finished
    if run.steps.truncated:
        transcript["truncated"] = run.steps.truncated
    if run.internal_errors:
        transcript["internal_errors"] = run.internal_errors
    transcript["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return transcript


class _Run:
    """One execution of one program: wires the recorders, runs the steps, restores everything."""

    def __init__(
        self,
        source: str,
        file: Path,
        options: TraceOptions,
        scratch: Path,
        on_step: StepCallback | None,
        closing: Closing | None = None,
    ) -> None:
        self.source = source
        self.file = file
        self.filename = str(file)
        self.options = options
        self.databases: ScratchDatabases | ServerDatabase = (
            ServerDatabase(options.database_url, options.max_rows)
            if options.database_url
            else ScratchDatabases(scratch, file.parent, options.max_rows)
        )
        self.recording = Recording(
            self.filename, self.databases, options, on_step, self._internal_error, closing=closing
        )
        self.steps = self.recording.steps
        self.locator = self.recording.locator
        self.stepper = LineStepper(self.steps, self.filename)
        self.internal_errors: list[str] = []
        self.output = OutputCapture(self._output)
        self.mode = "cells" if has_cells(source) else "lines"
        self.status = "ok"

    # -- events -------------------------------------------------------------------------------

    def _internal_error(self, exc: BaseException) -> None:
        self.internal_errors.append(f"{type(exc).__name__}: {mask_addresses(str(exc))}")

    def _output(self, stream: str, text: str) -> None:
        self.steps.output(stream, text, self.locator.line(depth=1))

    # -- running ------------------------------------------------------------------------------

    def execute(self) -> None:
        try:
            code = compile(self.source, self.filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            self.steps.start(None, "", [exc.lineno or 1, exc.lineno or 1])
            self.steps.fail(error_record(exc, self.filename, expected=False))
            self.steps.finish(None)
            self.status = "error"
            return
        environment = ProgramEnvironment(self.file, self.options.overrides())
        reset_sqlmodel()
        # Objects in reference cycles (a Hero and its Team) leave the session's weak identity map
        # whenever the cyclic collector happens to run, which depends on allocation counts and
        # differs from run to run. Pausing it while the program runs keeps labels, snapshots and
        # identity-map hits deterministic; reference counting still frees everything else.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        self.databases.install()
        self.recording.install()
        try:
            with environment as namespace, self.output:
                if self.mode == "cells":
                    self._run_cells(namespace)
                else:
                    self._run_lines(code, namespace)
        finally:
            self.stepper.stop()
            self.recording.remove()
            self.databases.remove()
            environment.dispose_engines()
            reset_sqlmodel()
            if gc_was_enabled:
                gc.enable()

    def _run_cells(self, namespace: dict[str, object]) -> None:
        for step in step_cells(self.source, self.options.runs_on):
            cell = step.cell
            self.steps.start(
                cell.title, step.narrative, [cell.first_line, cell.last_line], step.after, cell.exercise
            )
            try:
                code = compile(cell.source, self.filename, "exec", dont_inherit=True)
            except SyntaxError as exc:
                # The file compiles as a whole, so a "# %%" marker splits a statement (inside a
                # triple-quoted string, say): the cell cannot run on its own.
                self.steps.fail(error_record(exc, self.filename, expected=False))
                self.steps.note("This cell does not compile on its own: a # %% marker splits a statement.")
                self.steps.finish(namespace)
                self.status = "error"
                return
            failed = self._exec(code, namespace, expected=cell.expects_error)
            self.steps.finish(namespace)
            if failed:
                return

    def _run_lines(self, code: types.CodeType, namespace: dict[str, object]) -> None:
        self.stepper.start()
        try:
            self._exec(code, namespace, expected=False)
        finally:
            self.stepper.stop()
        self.steps.finish(namespace, self.stepper.frame_locals)

    def _exec(self, code: types.CodeType, namespace: dict[str, object], expected: bool) -> bool:
        """Run ``code``; record an error on the current step. True when the run must stop."""
        caught = CaughtError(code, self.filename) if expected else None
        try:
            if caught is None:
                exec(code, namespace)
            else:
                with caught:
                    exec(code, namespace)
        except SystemExit as exc:
            self.stepper.stop()
            if exc.code in (None, 0):
                self.steps.note_exit(0)
                return True
            self.steps.fail(error_record(exc, self.filename, expected=False))
            self.status = "error"
            return True
        except BaseException as exc:  # the program's own errors, KeyboardInterrupt and limits alike
            self.stepper.stop()
            if not self.steps.current:
                self.steps.start(None, "", [1, 1])
            self.steps.fail(error_record(exc, self.filename, expected=expected))
            if expected:
                return False
            self.status = "limit" if isinstance(exc, LimitExceeded) and exc.limit else "error"
            return True
        if caught is not None and caught.error is not None:
            self.steps.fail(caught.error)
        elif expected:
            self.steps.note("Tagged raises-exception, but no error was raised.")
        return False
