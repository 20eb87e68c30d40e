"""One step per executed line: the line stepper of the tracer and of the notebook's cells.

``sys.settrace`` with a local trace function only for the traced file's frames, so library code
runs untraced, like a debugger's "step into". At each new line the open step is closed (with the
frame's globals and locals, for the variables panel) and the next one opened; after the step
cap, one last step takes the rest of the run and stepping stops.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import TraceFunction

from .steps import StepBuilder

__all__ = ["LineStepper"]


class LineStepper:
    """Steps through the lines of the code compiled as ``filename``, between :meth:`start` and
    :meth:`stop` (the trace function that was set before is put back)."""

    def __init__(self, steps: StepBuilder, filename: str) -> None:
        self.steps = steps
        self.filename = filename
        self.frame_locals: dict[str, object] | None = None
        """The locals of the frame of the open step's line (None at module level)."""
        self._saved: TraceFunction | None = None
        self._on = False

    def start(self) -> None:
        self._saved = sys.gettrace()
        sys.settrace(self._global)
        self._on = True

    def stop(self) -> None:
        """Stop stepping (again: a no-op); the open step stays open."""
        if self._on:
            sys.settrace(self._saved)
            self._on = False

    def _global(self, frame: types.FrameType, event: str, _arg: object) -> TraceFunction | None:
        return self._local if frame.f_code.co_filename == self.filename else None

    def _local(self, frame: types.FrameType, event: str, _arg: object) -> TraceFunction | None:
        if event != "line" or not self._on:
            return self._local if self._on else None
        if self.steps.current:
            local = frame.f_locals if frame.f_locals is not frame.f_globals else None
            self.steps.finish(frame.f_globals, local)
        if self.steps.at_limit():
            self.stop()
            self.steps.start_overflow(frame.f_lineno)
            return None
        line = frame.f_lineno
        self.steps.start(None, "", [line, line])
        self.frame_locals = frame.f_locals if frame.f_locals is not frame.f_globals else None
        return self._local
