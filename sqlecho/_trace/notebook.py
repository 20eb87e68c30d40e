"""Trace one notebook cell at a time, in the notebook's own namespace.

The recorders are the tracer's (:mod:`sqlecho._record`), installed only while a cell runs; what
differs from tracing a file is what is left alone. The notebook's namespace is the program's
globals, so variables carry on to later cells; SQLModel's metadata is not reset, and databases
are not moved to a scratch folder (they are the notebook's own). Only an in-memory database gets
a scratch file standing in for it, as in a trace, so that the Database panel can read its
committed rows: one the notebook opens while a cell is traced, or at any time once
:meth:`CellTracer.keep_standing_in` was called (``%load_ext sqlecho`` does). Labels (``Hero#1``) last as long
as the :class:`CellTracer`, so an object keeps its label from one cell to the next.
"""

from __future__ import annotations

import ast
import linecache
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import sqlalchemy
import sqlmodel
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from .._record.objects import ObjectRegistry
from .._transcript.schema import header
from .._transcript.values import mask_addresses
from .errors import error_record
from .options import TraceOptions
from .output import OutputCapture
from .recording import Recording
from .scratch import ScratchDatabases
from .stepping import LineStepper

__all__ = ["CellResult", "CellTracer"]


class CellResult:
    """What a traced cell left: its transcript, the value of its last expression, its error."""

    def __init__(self, transcript: dict[str, object], value: object, error: BaseException | None) -> None:
        self.transcript = transcript
        self.value = value
        """The value of the cell's last line when it is an expression (``None`` otherwise)."""
        self.error = error
        """What the cell raised, for the caller to raise again once the step is shown."""


class CellTracer:
    """Runs cells in a namespace and records each as a transcript (one step, or one per line).

    Args:
        options: event and output caps (the switches do not apply: the notebook's sessions are
            its own).
    """

    def __init__(self, options: TraceOptions | None = None) -> None:
        self.options = options or TraceOptions()
        self.registry = ObjectRegistry()
        self.cells = 0
        # The notebook's database files stay where the notebook put them: they are added as they
        # are seen (_watch), and read by a second, read-only connection that never waits, as in a
        # trace. An in-memory database has no file to read, so it gets a stand-in in a folder of
        # our own, as in a trace (memory_only: files are not moved).
        folder = Path(tempfile.mkdtemp(prefix="sqlecho-cells-"))
        weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        self._databases = ScratchDatabases(folder, Path.cwd(), memory_only=True)

    def keep_standing_in(self) -> None:
        """From now on, every in-memory SQLite database the notebook opens, in a traced cell or
        not, gets a scratch file standing in for it, so that a later ``%%sqlecho`` cell can show
        its committed rows. A connection opened before stays a plain in-memory one (its panel
        stays empty). Undone by :meth:`close`."""
        self._databases.install()

    def close(self) -> None:
        """Stop standing in for in-memory databases (those opened so far keep their stand-in)."""
        self._databases.remove()

    def run(
        self,
        source: str,
        namespace: dict[str, object],
        *,
        lines: bool = False,
        echo: bool = True,
    ) -> CellResult:
        """Run ``source`` in ``namespace`` and return its transcript.

        Args:
            source: the cell's code.
            namespace: the notebook's globals (the cell's assignments land there).
            lines: one step per executed line of the cell (functions it defines included).
            echo: pass what the cell prints on to the streams that were current before it ran
                (the notebook's), so that it still shows; it is recorded in the steps as well.
        """
        self.cells += 1
        filename = f"<sqlecho-cell-{self.cells}>"
        # Tracebacks and inspect read the cell's lines from linecache, as for IPython's own cells.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        internal: list[str] = []

        def internal_error(exc: BaseException) -> None:
            internal.append(f"{type(exc).__name__}: {mask_addresses(str(exc))}")

        recording = Recording(
            filename, self._databases, self.options, None, internal_error, registry=self.registry, depth=1
        )
        steps, locator = recording.steps, recording.locator

        streams = {"stdout": sys.stdout, "stderr": sys.stderr}

        def output(stream: str, text: str) -> None:
            steps.output(stream, text, locator.line(depth=2))
            if echo:
                streams[stream].write(text)

        self._label_bound(namespace)
        self._watch(namespace)
        value: object = None
        error: BaseException | None = None
        count = max(1, len(source.splitlines()))
        standing_in = not self._databases.installed  # only for this cell
        if standing_in:
            self._databases.install()
        recording.install()
        stepper = LineStepper(steps, filename) if lines else None
        try:
            if stepper is None:
                steps.start(None, "", [1, count])
            with OutputCapture(output):
                try:
                    value = self._execute(source, filename, namespace, stepper)
                except BaseException as exc:  # the cell's own error: recorded, then raised again
                    error = exc
                    if stepper is not None:
                        stepper.stop()
                    if not steps.current:
                        steps.start(None, "", [1, count])
                    steps.fail(error_record(exc, filename, expected=False))
            if stepper is not None:
                stepper.stop()
            self._label_bound(namespace)
            self._watch(namespace)
            steps.finish(namespace, stepper.frame_locals if stepper else None)
        finally:
            recording.remove()
            if standing_in:
                self._databases.remove()
        transcript = header(
            filename,
            "lines" if lines else "cells",
            TraceOptions().switches(),
            {"sqlalchemy": sqlalchemy.__version__, "sqlmodel": sqlmodel.__version__},
            "ok" if error is None else "error",
        )
        transcript["steps"] = steps.finished
        if internal:
            transcript["internal_errors"] = internal
        return CellResult(transcript, value, error)

    def _label_bound(self, namespace: dict[str, object]) -> None:
        """Give a label to every ORM object bound to a variable, so that it gets a card even if
        it was made before this cell (and no event has named it yet). ``inspect`` reads the
        instance state only: nothing loads."""
        for name, value in list(namespace.items()):
            if name.startswith("_"):
                continue
            state = inspect(value, raiseerr=False)
            if state is not None and hasattr(state, "mapper") and hasattr(state, "obj"):
                self.registry.label(state)

    def _watch(self, namespace: dict[str, object]) -> None:
        """Remember the file of every SQLite engine bound to a variable, for the Database panel.
        (An in-memory database is remembered when its stand-in is made, if it has one.)"""
        for value in list(namespace.values()):
            if not isinstance(value, Engine) or value.url.get_backend_name() != "sqlite":
                continue
            database = value.url.database or ""
            if database in ("", ":memory:") or "mode=memory" in str(value.url):
                continue
            path = Path(database.removeprefix("file:").split("?")[0])
            path = path if path.is_absolute() else Path.cwd() / path
            if path not in self._databases.files:
                self._databases.files.append(path)

    @staticmethod
    def _execute(
        source: str, filename: str, namespace: dict[str, object], stepper: LineStepper | None
    ) -> object:
        """Run the cell; the value of its last line when that line is an expression, as IPython
        shows it."""
        tree = ast.parse(source, filename)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            tree.body.pop()
        else:
            last = None
        body = compile(tree, filename, "exec", dont_inherit=True)
        tail = compile(ast.Expression(last.value), filename, "eval", dont_inherit=True) if last else None
        if stepper is not None:
            stepper.start()
        exec(body, namespace)
        return eval(tail, namespace) if tail is not None else None
