"""Capture what the traced program prints, in true order with its SQL events.

SQLAlchemy's ``echo=True`` logs to a handler that writes to ``sys.stdout``; those lines are the
SQL we already show as events, so writes that come from a logging handler for a ``sqlalchemy.*``
record are dropped here rather than printed twice.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["OutputCapture"]

_EMIT_CODES = {logging.StreamHandler.emit.__code__}


def _from_sqlalchemy_logging(frame: FrameType | None) -> bool:
    depth = 0
    while frame is not None and depth < 8:
        if frame.f_code in _EMIT_CODES:
            record = frame.f_locals.get("record")
            return isinstance(record, logging.LogRecord) and record.name.startswith("sqlalchemy")
        frame = frame.f_back
        depth += 1
    return False


class _Stream(io.TextIOBase):
    """A text stream that hands every write to a callback instead of a file."""

    def __init__(self, name: str, write: Callable[[str, str], None]) -> None:
        super().__init__()
        self._name = name
        self._write = write

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def name(self) -> str:
        return f"<{self._name}>"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text and not _from_sqlalchemy_logging(sys._getframe(1)):
            self._write(self._name, text)
        return len(text)


class OutputCapture:
    """Context manager replacing ``sys.stdout``/``sys.stderr`` with recording streams."""

    def __init__(self, write: Callable[[str, str], None]) -> None:
        """Args:
        write: called with (``"stdout"`` or ``"stderr"``, text) for every write.
        """
        self._write = write
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> OutputCapture:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Stream("stdout", self._write)
        sys.stderr = _Stream("stderr", self._write)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None
