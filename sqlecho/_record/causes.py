"""Which line of the traced file caused an event, and why SQLAlchemy sent a statement.

Both answers come from one walk up the Python stack at the moment an event fires, from the
listener up to the innermost frame of the traced file. Frames in between belong to SQLAlchemy;
a few of its functions mark the reason for a statement (``Session._autoflush``, the lazy loader,
loading of expired attributes, ...). We look them up by code object, which is a dict lookup per
frame: far cheaper than ``sys.settrace``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from sqlalchemy.orm import loading, strategies
from sqlalchemy.orm.session import Session
from sqlalchemy.sql import ddl

__all__ = ["Locator", "statement_kind"]

# A marker turns a frame into a cause; it may read the frame's locals (never the ORM objects'
# attributes: those could load).
_Marker = Callable[[FrameType, Callable[[Any], str]], str]


def _fixed(cause: str) -> _Marker:
    return lambda _frame, _label: cause


def _loader(verb: str) -> _Marker:
    def cause(frame: FrameType, _label: Callable[[Any], str]) -> str:
        strategy = frame.f_locals.get("self")
        try:
            return f"{verb} {strategy.parent.class_.__name__}.{strategy.key}"  # type: ignore[union-attr]
        except AttributeError:
            return verb

    return cause


def _of_state(verb: str, local: str) -> _Marker:
    def cause(frame: FrameType, label: Callable[[Any], str]) -> str:
        target = frame.f_locals.get(local)
        if target is None:
            return verb
        obj = target.obj() if hasattr(target, "obj") and callable(target.obj) else target
        return f"{verb} {label(obj)}" if obj is not None else verb

    return cause


def _code(owner: object, *names: str) -> CodeType | None:
    """The code object of the first of ``names`` that ``owner`` has (names change across versions)."""
    for name in names:
        function = getattr(owner, name, None)
        code = getattr(function, "__code__", None)
        if isinstance(code, CodeType):
            return code
    return None


def _strategy(*names: str) -> type | None:
    for name in names:
        cls = getattr(strategies, name, None)
        if isinstance(cls, type):
            return cls
    return None


def _build_markers() -> dict[CodeType, _Marker]:
    lazy = _strategy("_LazyLoader", "LazyLoader")
    deferred = _strategy("_DeferredColumnLoader", "DeferredColumnLoader")
    selectin = _strategy("_SelectInLoader", "SelectInLoader")
    subquery = _strategy("_SubqueryLoader", "SubqueryLoader")
    immediate = _strategy("_ImmediateLoader", "ImmediateLoader")
    candidates: list[tuple[CodeType | None, _Marker]] = [
        (_code(Session, "_autoflush"), _fixed("autoflush")),
        (_code(Session, "flush"), _fixed("flush")),
        (_code(Session, "refresh"), _of_state("refresh", "instance")),
        (_code(Session, "merge"), _fixed("merge")),
        (_code(lazy, "_load_for_state"), _loader("lazy load")),
        (_code(deferred, "_load_for_state"), _loader("load deferred")),
        (_code(selectin, "_load_for_path"), _loader("selectin load")),
        (_code(subquery, "_load", "_load_for_path"), _loader("subquery load")),
        (_code(immediate, "_load_for_path"), _loader("immediate load")),
        (
            _code(loading, "_load_scalar_attributes", "load_scalar_attributes"),
            _of_state("load expired", "state"),
        ),
        (_code(ddl.SchemaGenerator, "visit_metadata"), _fixed("ddl")),
        (_code(ddl.SchemaGenerator, "visit_table"), _fixed("ddl")),
        (_code(ddl.SchemaDropper, "visit_metadata"), _fixed("ddl")),
        (_code(ddl.SchemaDropper, "visit_table"), _fixed("ddl")),
    ]
    return {code: marker for code, marker in candidates if code is not None}


_MARKERS = _build_markers()
_AUTOFLUSH = _code(Session, "_autoflush")
_SAVEPOINT_PREFIXES = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def statement_kind(statement: str) -> str:
    """The first keyword of a statement in lower case: ``select``, ``insert``, ``savepoint``, ..."""
    head = statement.lstrip().split(None, 1)
    word = head[0].lower() if head else ""
    if word in ("release", "savepoint") or statement.lstrip().upper().startswith("ROLLBACK TO"):
        return "savepoint"
    return word


def _parent_greenlet(glet: Any) -> tuple[Any, FrameType | None]:
    """The greenlet above ``glet`` (None: the current one) and its suspended frame.

    With asyncio, SQLAlchemy runs the ORM's sync code in a child greenlet whose stack ends where
    it started; the program's coroutine that awaited it is on the parent greenlet's stack.
    """
    greenlet = sys.modules.get("greenlet")
    if greenlet is None:
        return None, None
    parent = (glet if glet is not None else greenlet.getcurrent()).parent
    return parent, parent.gr_frame if parent is not None else None


class Locator:
    """Answers "which line of FILE, and why" for the event being handled right now."""

    def __init__(self, filename: str, label: Callable[[Any], str]) -> None:
        """Args:
        filename: the traced file's path exactly as compiled into its code objects.
        label: gives an ORM object's label (``Hero#1``) for causes that name an object.
        """
        self.filename = filename
        self._label = label

    def line(self, depth: int = 2) -> int | None:
        """The line of the innermost frame of the traced file, or None when it is not on the stack."""
        frame: FrameType | None = sys._getframe(depth)
        filename = self.filename
        glet: Any = None
        while True:
            while frame is not None:
                if frame.f_code.co_filename == filename:
                    return frame.f_lineno
                frame = frame.f_back
            glet, frame = _parent_greenlet(glet)
            if frame is None:
                return None

    def line_and_cause(self, statement: str, is_ddl: bool, depth: int = 2) -> tuple[int | None, str]:
        """The causing line and the reason for ``statement``, from one walk of the stack."""
        frame: FrameType | None = sys._getframe(depth)
        filename = self.filename
        found: list[tuple[CodeType, FrameType]] = []
        line = None
        glet: Any = None
        while line is None:
            while frame is not None:
                code = frame.f_code
                if code.co_filename == filename:
                    line = frame.f_lineno
                    break
                if code in _MARKERS:
                    found.append((code, frame))
                frame = frame.f_back
            if line is None:
                glet, frame = _parent_greenlet(glet)
                if frame is None:
                    break
        if statement.lstrip()[:24].upper().startswith(_SAVEPOINT_PREFIXES):
            return line, "savepoint"
        if not found:
            return line, "ddl" if is_ddl else "query"
        code, first = found[0]
        cause = _MARKERS[code](first, self._label)
        # A flush started by autoflush is an autoflush: the INSERT that a SELECT sent first.
        if cause == "flush" and any(c is _AUTOFLUSH for c, _ in found[1:]):
            cause = "autoflush"
        return line, cause
