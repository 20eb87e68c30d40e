"""Who sent a statement, and why: the caller's file and line, and SQLAlchemy's reason.

The caller is the first frame on the stack that belongs neither to SQLAlchemy nor to
sqlecho. With asyncio, SQLAlchemy runs the sync code in a greenlet whose stack ends
where it started; the awaiting coroutine is found on the parent greenlet's stack.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, cast

from .._transcript.sql import is_savepoint
from .causes import _AUTOFLUSH, _MARKERS, _parent_greenlet
from .recorder import Event

__all__ = ["CallerLocator"]

# Frames of these packages are never "the caller": they send SQL on behalf of user code.
_LIBRARIES = ("sqlalchemy", "sqlmodel", "sqlecho", "contextlib", "asyncio", "threading")
# Cache values besides a user file's display path: library code (None), library code
# that marks a cause, and a code object not seen yet.
_MARKED = object()
_UNSEEN = object()
# Hashing a code object hashes its constants, every time: ids are ten times cheaper.
# The marker functions live as long as SQLAlchemy, so their ids stay theirs.
_MARKER_IDS = frozenset(id(code) for code in _MARKERS)


class CallerLocator:
    """Finds the caller's file and line, and why SQLAlchemy sent a statement."""

    def __init__(self, label: Callable[[Any], str]) -> None:
        """Args:
        label: gives an ORM object's label (``Hero#1``) for causes that name an object.
        """
        self._label = label
        self._cwd = os.getcwd()
        # id(code) -> what the code is (see _MARKED): one dict lookup per frame keeps
        # capture cheaper than echo logging. The code objects are kept alive in _seen,
        # so that their ids cannot be reused.
        self._codes: dict[int, object] = {}
        self._seen: list[CodeType] = []

    def _learn(self, frame: FrameType) -> object:
        code = frame.f_code
        module = frame.f_globals.get("__name__") or ""
        known: object
        if id(code) in _MARKER_IDS:
            known = _MARKED
        elif any(module == name or module.startswith(name + ".") for name in _LIBRARIES):
            known = None
        else:
            known = self._display(code.co_filename)
        self._codes[id(code)] = known
        self._seen.append(code)
        return known

    def _display(self, filename: str) -> str:
        """A path relative to the working directory when under it, ``/`` separated."""
        if filename.startswith("<") or not os.path.isabs(filename):
            return filename
        if filename.startswith(os.path.join(self._cwd, "")):
            filename = os.path.relpath(filename, self._cwd)
        return filename.replace(os.sep, "/")

    def stamp(self, record: Event) -> None:
        """Set ``file``, ``line`` (and ``cause`` for SQL) from one walk of the stack."""
        get = self._codes.get
        frame: FrameType | None = sys._getframe(1)
        found: list[tuple[CodeType, FrameType]] = []
        file: str | None = None
        line: int | None = None
        glet: Any = None
        while frame is not None:
            known = get(id(frame.f_code), _UNSEEN)
            if known is _UNSEEN:
                known = self._learn(frame)
            if known is not None:  # not plain library code, the common case
                if known is not _MARKED:
                    file, line = cast(str, known), frame.f_lineno
                    break
                found.append((frame.f_code, frame))
            frame = frame.f_back
            if frame is None:
                glet, frame = _parent_greenlet(glet)
        record["line"] = line
        record["file"] = file
        if record["kind"] == "sql":
            record["cause"] = self._cause(record["statement"], record["cause"], found)

    def _cause(self, statement: str, default: str, found: list[tuple[CodeType, FrameType]]) -> str:
        if is_savepoint(statement):
            return "savepoint"
        if not found:
            return default
        code, first = found[0]
        cause = _MARKERS[code](first, self._label)
        # A flush started by autoflush is an autoflush: the INSERT a SELECT sent first.
        if cause == "flush" and any(c is _AUTOFLUSH for c, _ in found[1:]):
            cause = "autoflush"
        return cause
