"""Trace one notebook cell at a time, in the notebook's own namespace.

The recorders are the tracer's (:mod:`sqlecho._record`), installed only while a cell runs; what
differs from tracing a file is what is left alone. The notebook's namespace is the program's
globals, so variables carry on to later cells; SQLModel's metadata is not reset, and databases
are not moved to a scratch folder (they are the notebook's own). Labels (``Hero#1``) last as long
as the :class:`CellTracer`, so an object keeps its label from one cell to the next.
"""

from __future__ import annotations

import ast
import linecache
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import sqlalchemy
import sqlmodel
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from .._record.locate import Locator
from .._record.objects import ObjectRegistry
from .._record.recorder import EngineRecorder, OrmRecorder
from .._transcript.schema import header
from .._transcript.values import mask_addresses
from .errors import error_record
from .options import TraceOptions
from .output import OutputCapture
from .scratch import ScratchDatabases
from .steps import StepBuilder

__all__ = ["CellResult", "CellTracer"]


class CellResult:
    """What a traced cell left: its transcript, the value of its last expression, its error."""

    def __init__(self, transcript: dict[str, Any], value: Any, error: BaseException | None) -> None:
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
        # Never installed: the notebook's databases stay where the notebook put them. The files of
        # its SQLite engines are added as they are seen (_watch), and read by a second, read-only
        # connection that never waits, as in a trace.
        self._databases = ScratchDatabases(Path(tempfile.gettempdir()), Path.cwd())

    def run(
        self,
        source: str,
        namespace: dict[str, Any],
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

        steps = StepBuilder(self.registry, self._databases, self.options, None, internal_error)
        locator = Locator(filename, self.registry.label)
        engine = EngineRecorder(
            Engine,
            steps.add,
            lambda s, ddl: locator.line_and_cause(s, ddl, depth=1),
            lambda: locator.line(1),
            internal_error,
        )
        orm = OrmRecorder(self.registry, steps.add, lambda: locator.line(1), internal_error)
        steps.session = orm

        streams = {"stdout": sys.stdout, "stderr": sys.stderr}

        def output(stream: str, text: str) -> None:
            steps.output(stream, text, locator.line(depth=2))
            if echo:
                streams[stream].write(text)

        self._label_bound(namespace)
        self._watch(namespace)
        value: Any = None
        error: BaseException | None = None
        count = max(1, len(source.splitlines()))
        engine.install()
        orm.install()
        stepper = _LineStepper(steps, filename, namespace) if lines else None
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
            orm.remove()
            engine.remove()
        transcript = header(
            filename,
            "lines" if lines else "cells",
            {"expire_on_commit": None, "autoflush": None},
            {"sqlalchemy": sqlalchemy.__version__, "sqlmodel": sqlmodel.__version__},
            "ok" if error is None else "error",
        )
        transcript["steps"] = steps.finished
        if internal:
            transcript["internal_errors"] = internal
        return CellResult(transcript, value, error)

    def _label_bound(self, namespace: dict[str, Any]) -> None:
        """Give a label to every ORM object bound to a variable, so that it gets a card even if
        it was made before this cell (and no event has named it yet). ``inspect`` reads the
        instance state only: nothing loads."""
        for name, value in list(namespace.items()):
            if name.startswith("_"):
                continue
            state = inspect(value, raiseerr=False)
            if state is not None and hasattr(state, "mapper") and hasattr(state, "obj"):
                self.registry.label(state)

    def _watch(self, namespace: dict[str, Any]) -> None:
        """Remember the file of every SQLite engine bound to a variable, for the Database panel.
        (An in-memory database has no second connection to read it: its panel stays empty.)"""
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
    def _execute(source: str, filename: str, namespace: dict[str, Any], stepper: _LineStepper | None) -> Any:
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


class _LineStepper:
    """One step per executed line of the cell: the tracer's line stepping, for one cell."""

    def __init__(self, steps: StepBuilder, filename: str, namespace: dict[str, Any]) -> None:
        self.steps = steps
        self.filename = filename
        self.namespace = namespace
        self.frame_locals: dict[str, Any] | None = None
        self._saved: Any = None
        self._on = False

    def start(self) -> None:
        self._saved = sys.gettrace()
        sys.settrace(self._global)
        self._on = True

    def stop(self) -> None:
        if self._on:
            sys.settrace(self._saved)
            self._on = False

    def _global(self, frame: types.FrameType, event: str, _arg: Any) -> Any:
        return self._local if frame.f_code.co_filename == self.filename else None

    def _local(self, frame: types.FrameType, event: str, _arg: Any) -> Any:
        if event != "line" or not self._on:
            return self._local if self._on else None
        if self.steps.current:
            local = frame.f_locals if frame.f_locals is not frame.f_globals else None
            self.steps.finish(frame.f_globals, local)
        if self.steps.at_limit():
            self.stop()
            self.steps.start_overflow(frame.f_lineno)
            return None
        self.steps.start(None, "", [frame.f_lineno, frame.f_lineno])
        self.frame_locals = frame.f_locals if frame.f_locals is not frame.f_globals else None
        return self._local
