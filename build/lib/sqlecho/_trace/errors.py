"""The error record of a step, and catching the error a tagged cell raises on purpose."""

from __future__ import annotations

import sys
import types
from typing import Any

import sqlalchemy

from .._transcript.schema import error
from .._transcript.values import mask_addresses

__all__ = ["CaughtError", "error_record"]


class CaughtError:
    """Context manager: remembers the first error that reaches the top level of one cell, even if
    the cell catches it.

    A cell tagged ``raises-exception`` may catch its error (``try: ... except ...: print(error)``)
    so that ``python lesson.py`` still runs to its end; the error is the lesson all the same, so it
    is recorded on the step (with ``"caught": true``). Tracing is on for this one cell only.
    """

    def __init__(self, code: types.CodeType, filename: str) -> None:
        self.code = code
        self.filename = filename
        self.error: dict[str, Any] | None = None
        self._saved: Any = None

    def __enter__(self) -> None:
        self._saved = sys.gettrace()
        sys.settrace(self._global_trace)

    def __exit__(self, *_exc: object) -> None:
        sys.settrace(self._saved)

    def _global_trace(self, frame: types.FrameType, _event: str, _arg: Any) -> Any:
        return self._local_trace if frame.f_code is self.code else None

    def _local_trace(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        # Read the error now: keeping the exception would keep its frames (and objects) alive.
        if event == "exception" and self.error is None and isinstance(arg[1], Exception):
            error = error_record(arg[1], self.filename, expected=True)
            if error["line"] is None:  # the traceback does not reach this frame yet
                error["line"] = frame.f_lineno
            self.error = {**error, "caught": True}
        return self._local_trace


def error_record(exc: BaseException, filename: str, expected: bool) -> dict[str, Any]:
    """The ``error`` record of a step: type, message, the traced file's line, expected or not."""
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    message = str(exc) if not isinstance(exc, SystemExit) else f"exit status {exc.code}"
    record = error(type(exc).__name__, mask_addresses(message), line, expected=expected)
    code = getattr(exc, "code", None)
    if isinstance(code, str) and isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        record["code"] = code
    if getattr(exc, "sqlecho_limit", None):
        record["limit"] = exc.sqlecho_limit  # type: ignore[attr-defined]
    return record
