"""The recorders of one run, wired to each other once: for a traced file and a notebook cell.

An object registry names the objects (``Hero#1``), a locator finds the program's line of each
event, a step builder files the events into steps, and the engine and ORM recorders listen to
SQLAlchemy and hand their events straight to the step builder (one call less per event).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from .._record.locate import Locator
from .._record.objects import ObjectRegistry
from .._record.recorder import EngineRecorder, OrmRecorder
from .options import TraceOptions
from .scratch import ScratchDatabases
from .server import ServerDatabase
from .steps import Closing, StepBuilder

__all__ = ["Recording"]


class Recording:
    """Registry, locator, step builder and recorders of one run.

    Args:
        filename: the name the program's code is compiled under (its events' lines are found
            in frames of that file).
        databases: the databases the step snapshots read.
        options: the run's caps.
        on_step: called with each finished step.
        on_internal_error: called with an error of sqlecho's own (the program runs on).
        registry: the labels to go on with (a notebook keeps one across cells).
        closing: see :class:`~sqlecho._trace.steps.Closing`.
        depth: 0 hands the locator's methods to the recorders as they are (their default
            first frame); otherwise they are called through a wrapper that starts the locator's
            walk ``depth`` frames up (the notebook's cells: 1).
    """

    def __init__(
        self,
        filename: str,
        databases: ScratchDatabases | ServerDatabase,
        options: TraceOptions,
        on_step: Callable[[dict[str, object]], None] | None,
        on_internal_error: Callable[[BaseException], None],
        *,
        registry: ObjectRegistry | None = None,
        closing: Closing | None = None,
        depth: int = 0,
    ) -> None:
        self.registry = registry if registry is not None else ObjectRegistry()
        self.locator = locator = Locator(filename, self.registry.label)
        self.steps = StepBuilder(self.registry, databases, options, on_step, on_internal_error, closing)
        line_and_cause: Callable[[str, object], tuple[int | None, str]] = locator.line_and_cause
        line: Callable[[], int | None] = locator.line
        if depth:

            def line_and_cause(statement: str, context: object) -> tuple[int | None, str]:
                return locator.line_and_cause(statement, context, depth=depth)

            def line() -> int | None:
                return locator.line(depth)

        self.engine = EngineRecorder(Engine, self.steps.add, line_and_cause, line, on_internal_error)
        self.orm = OrmRecorder(self.registry, self.steps.add, line, on_internal_error)
        self.steps.session = self.orm

    def install(self) -> None:
        """Start listening to SQLAlchemy."""
        self.engine.install()
        self.orm.install()

    def remove(self) -> None:
        """Stop listening (whatever happened in between)."""
        self.orm.remove()
        self.engine.remove()
