"""Which line caused an event, and why SQLAlchemy sent a statement: one walk up the stack.

The tracer asks for the innermost line of the traced file (:class:`Locator`); ``capture()`` asks
for the first frame of the user's own code, whatever file it is in (:class:`CallerLocator`).
Both walk the same stack the same way (:func:`frames`, which follows asyncio's greenlets) and
read the reason from the same SQLAlchemy functions found on the way (:func:`cause_of`). A few of
SQLAlchemy's functions mark the reason for a statement (``Session._autoflush``, the lazy loader,
loading of expired attributes, ...); we know them by code object, which is a dict lookup per
frame: far cheaper than ``sys.settrace``. A statement that no such function sent is the program's
own, and its compiled form says which kind (:func:`statement_cause`); one sent from inside an
event listener of the program says so.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import Any, cast

from sqlalchemy.orm import bulk_persistence, loading, strategies
from sqlalchemy.orm import context as orm_context
from sqlalchemy.orm.session import Session
from sqlalchemy.sql import ddl

from .._transcript.counting import is_savepoint
from . import paths
from .recorder import Event

__all__ = ["CallerLocator", "Locator", "cause_of", "frames", "statement_cause"]

# A marker turns a frame into a cause; it may read the frame's locals (never the ORM objects'
# attributes: those could load).
_Marker = Callable[[FrameType, Callable[[object], str]], str]


def _fixed(cause: str) -> _Marker:
    return lambda _frame, _label: cause


def _loader(verb: str) -> _Marker:
    def cause(frame: FrameType, _label: Callable[[object], str]) -> str:
        strategy = frame.f_locals.get("self")
        try:
            return f"{verb} {strategy.parent.class_.__name__}.{strategy.key}"  # type: ignore[union-attr]
        except AttributeError:
            return verb

    return cause


def _of_state(verb: str, local: str) -> _Marker:
    def cause(frame: FrameType, label: Callable[[object], str]) -> str:
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
        (_code(Session, "_get_impl", "get"), _fixed("get")),
        (_code(lazy, "_load_for_state"), _loader("lazy load")),
        (_code(deferred, "_load_for_state"), _loader("load deferred")),
        (_code(selectin, "_load_for_path"), _loader("selectin load")),
        (_code(subquery, "_load", "_load_for_path"), _loader("subquery load")),
        # SQLAlchemy 2.1 runs the subquery from a helper object that names no relationship.
        (_code(getattr(subquery, "_SubqCollections", None), "_load"), _fixed("subquery load")),
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
# Hashing a code object hashes its constants, every time: ids are ten times cheaper.
# The marker functions live as long as SQLAlchemy, so their ids stay theirs.
_MARKER_BY_ID = {id(code): marker for code, marker in _MARKERS.items()}
_MARKER_IDS = frozenset(_MARKER_BY_ID)
# The files those functions live in: most frames of a walk are in none of them, and a test of
# the file name, which the walk reads anyway, spares them the id lookup.
_MARKER_FILES = frozenset(code.co_filename for code in _MARKERS)
_AUTOFLUSH = _code(Session, "_autoflush")
_LOAD_EXPIRED = _code(loading, "_load_scalar_attributes", "load_scalar_attributes")
_MERGE = _code(Session, "merge")
_LAZY_LOAD = _code(_strategy("_LazyLoader", "LazyLoader"), "_load_for_state")


def _orm_class(module: object, *names: str) -> type | None:
    """A class of SQLAlchemy's ORM by the first of ``names`` it has (private names change)."""
    for name in names:
        cls = getattr(module, name, None)
        if isinstance(cls, type):
            return cls
    return None


# The compile state of an ORM-enabled statement says what it is; checked most specific first.
_STATEMENT_KINDS: list[tuple[type, str]] = [
    (cls, cause)
    for cls, cause in (
        (_orm_class(bulk_persistence, "_BulkORMUpdate", "BulkORMUpdate"), "bulk update"),
        (_orm_class(bulk_persistence, "_BulkORMDelete", "BulkORMDelete"), "bulk delete"),
        (_orm_class(bulk_persistence, "_BulkORMInsert", "BulkORMInsert"), "bulk insert"),
        (_orm_class(orm_context, "_ORMCompileState", "ORMCompileState"), "query"),
    )
    if cls is not None
]


def statement_cause(context: object) -> str:
    """The cause of a statement the program sent itself, from its execution context.

    ``query`` for an ORM select (``session.exec(select(Hero))``), ``bulk update`` /
    ``bulk delete`` / ``bulk insert`` for ORM-enabled ``update(Hero)`` / ``delete(Hero)`` /
    ``insert(Hero)``, ``ddl`` for schema statements, and ``execute`` for everything else: a
    textual statement, Core (``hero_table.select()``), ``exec_driver_sql``.
    """
    if getattr(context, "isddl", False):
        return "ddl"
    compile_state = getattr(getattr(context, "compiled", None), "compile_state", None)
    if compile_state is None:
        return "execute"
    kind = type(compile_state)
    cause = _CAUSE_OF_KIND.get(kind)
    if cause is None:
        cause = next((cause for cls, cause in _STATEMENT_KINDS if issubclass(kind, cls)), "execute")
        _CAUSE_OF_KIND[kind] = cause
    return cause


# Compile-state class -> cause: a program uses a handful of these classes, met thousands of times.
_CAUSE_OF_KIND: dict[type, str] = {}

# Statement text -> is it a savepoint's: a program sends the same few texts over and over (the
# compiled cache hands back the same string). Bounded, for programs that build texts by the
# thousand.
_SAVEPOINTS: dict[str, bool] = {}
_SAVEPOINTS_KEPT = 1024


def _is_savepoint(statement: str) -> bool:
    known = _SAVEPOINTS.get(statement)
    if known is None:
        known = is_savepoint(statement)
        if len(_SAVEPOINTS) < _SAVEPOINTS_KEPT:
            _SAVEPOINTS[statement] = known
    return known


# Listeners are called through these modules (the listener collections, and the wrappers of
# ORM events registered without raw=True); attribute events call them from fire_* methods.
_DISPATCH_MODULES = frozenset({"sqlalchemy.event.attr", "sqlalchemy.event.legacy", "sqlalchemy.orm.events"})


def _called_by_event(frame: FrameType, search: int = 3) -> bool:
    """Is ``frame`` (the program's own) an event listener that SQLAlchemy is calling right now?"""
    caller = frame.f_back
    for _ in range(search):
        if caller is None:
            return False
        module = caller.f_globals.get("__name__")
        if module in _DISPATCH_MODULES:
            return True
        if module == "sqlalchemy.orm.attributes" and caller.f_code.co_name.startswith("fire_"):
            return True
        caller = caller.f_back
    return False


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


def frames(frame: FrameType | None) -> Iterator[FrameType]:
    """``frame`` and every frame that called it, innermost first, across asyncio's greenlets."""
    glet: object = None
    while frame is not None:
        yield frame
        frame = frame.f_back
        if frame is None:
            glet, frame = _parent_greenlet(glet)


Found = list[tuple[CodeType, FrameType]]
"""The cause-marking SQLAlchemy frames met on the way up, innermost first."""


def cause_of(statement: str, found: Found, default: str, label: Callable[[object], str]) -> str:
    """Why ``statement`` was sent, from the marking frames met below the user's line.

    Args:
        statement: the SQL text.
        found: the marking frames, innermost first.
        default: the cause when no frame marks one (see :func:`statement_cause`).
        label: gives an ORM object's label (``Hero#1``) for causes that name an object.
    """
    if _is_savepoint(statement):
        return "savepoint"
    if not found:
        return default
    code, first = found[0]
    cause = _MARKER_BY_ID[id(code)](first, label)
    if len(found) == 1:  # the common case: nothing above the marking frame can change the cause
        return cause
    # A flush started by autoflush is an autoflush: the INSERT that a SELECT sent first.
    if cause == "flush":
        for outer, _frame in found[1:]:
            if outer is _AUTOFLUSH:
                return "autoflush"
    # A many-to-one lazy load that finds its target expired in the identity map reloads it:
    # the SELECT is the target's, reached through the relationship. (A lazy load may also first
    # reload its own object's expired foreign key: that one is a plain "load expired".)
    elif code is _LOAD_EXPIRED:
        for outer, frame in found[1:]:
            if outer is _LAZY_LOAD:
                relationship = _MARKER_BY_ID[id(outer)](frame, label).removeprefix("lazy load ")
                own = frame.f_locals.get("state") is first.f_locals.get("state")
                if relationship != "lazy load" and not own:
                    cause += f" via {relationship}"
                break
    # merge() looks the object up with get(): the program asked for a merge.
    elif cause == "get" and any(c is _MERGE for c, _ in found[1:]):
        cause = "merge"
    return cause


class Locator:
    """For the tracer: "which line of FILE, and why" for the event being handled right now."""

    def __init__(self, filename: str, label: Callable[[object], str]) -> None:
        """Args:
        filename: the traced file's path exactly as compiled into its code objects.
        label: gives an ORM object's label (``Hero#1``) for causes that name an object.
        """
        self.filename = filename
        self._label = label

    # Both walks below are :func:`frames` written out as loops: they run for every event, and a
    # generator's resumption per frame costs more than the rest of the walk. The inner loop climbs
    # one greenlet's stack; the outer one, rarely taken, goes on to the greenlet above (asyncio).

    def line(self, depth: int = 2) -> int | None:
        """The line of the innermost frame of the traced file, or None when it is not on the stack."""
        filename = self.filename
        frame: FrameType | None = sys._getframe(depth)
        glet: object = None
        while frame is not None:
            while frame is not None:
                if frame.f_code.co_filename == filename:
                    return frame.f_lineno
                frame = frame.f_back
            glet, frame = _parent_greenlet(glet)
        return None

    def line_and_cause(self, statement: str, context: object, depth: int = 2) -> tuple[int | None, str]:
        """The causing line and the reason for ``statement`` (sent with the execution
        ``context``), from one walk of the stack."""
        filename = self.filename
        marked, marker_files = _MARKER_IDS, _MARKER_FILES
        found: Found = []
        line = None
        frame: FrameType | None = sys._getframe(depth)
        glet: object = None
        while frame is not None:
            while frame is not None:
                code = frame.f_code
                name = code.co_filename
                if name == filename:
                    line = frame.f_lineno
                    if not found and _called_by_event(frame):
                        return line, "event listener"
                    break
                if name in marker_files and id(code) in marked:  # not ``code in _MARKERS``: see _MARKER_IDS
                    found.append((code, frame))
                frame = frame.f_back
            else:  # no frame of the file on this greenlet's stack: go on to the one above
                glet, frame = _parent_greenlet(glet)
                continue
            break
        # A marking frame decides the cause: the statement's own kind is needed only without one.
        default = "" if found else statement_cause(context)
        return line, cause_of(statement, found, default, self._label)


# Cache values besides a user file's display path: library code (None), library code
# that marks a cause, ``Session.get`` (an explicit load by primary key), and a code object
# not seen yet.
_MARKED = object()
_GET = object()
_UNSEEN = object()
_GET_IDS = frozenset(id(code) for code in (_code(Session, "get"), _code(Session, "_get_impl")) if code)

Where = tuple[str | None, int | None]
"""``(file, line)`` of the user's code, as ``capture()`` shows it."""


def _subject(frame: FrameType) -> object:
    """The ORM object a marking frame loads or refreshes (its ``state`` or ``instance``), or None."""
    target = frame.f_locals.get("state", frame.f_locals.get("instance"))
    if target is not None and hasattr(target, "obj") and callable(target.obj):
        return target.obj()
    return target


def _module_file(frame: FrameType) -> str:
    """The file of the module whose globals ``frame`` runs with ("" when unknown)."""
    module = sys.modules.get(frame.f_globals.get("__name__") or "")
    return getattr(module, "__file__", None) or ""


class CallerLocator:
    """For ``capture()``: the caller's file and line (the first frame of the user's own code),
    and why SQLAlchemy sent a statement.

    The user's code is every file outside the standard library, the installed packages and
    SQLAlchemy/SQLModel (:mod:`sqlecho._record.paths`). When no such frame is on the stack (a
    lazy load that FastAPI's response serialisation starts, in a thread of its own), a load of
    an object's attributes is placed where that object's row was loaded (``loaded_at``), and
    the event says so with ``"located": "parent rows"``.
    """

    def __init__(
        self, label: Callable[[object], str], loaded_at: Callable[[str], Where] | None = None
    ) -> None:
        """Args:
        label: gives an ORM object's label (``Hero#1``) for causes that name an object.
        loaded_at: where the object of a label was loaded, for the fallback above.
        """
        self._label = label
        self._loaded_at = loaded_at
        # id(code) -> what the code is (see _MARKED): one dict lookup per frame keeps
        # capture cheaper than echo logging. The code objects are kept alive in _seen,
        # so that their ids cannot be reused.
        self._codes: dict[int, object] = {}
        self._seen: list[CodeType] = []

    def _learn(self, frame: FrameType) -> object:
        code = frame.f_code
        known: object
        if id(code) in _MARKER_IDS:
            known = _MARKED
        elif id(code) in _GET_IDS:
            known = _GET
        elif paths.is_library(code.co_filename) or (
            # Code that a library generates (SQLAlchemy's "<sqlalchemy generated ...>"
            # wrappers) belongs to the module it is generated for.
            code.co_filename.startswith("<") and paths.is_library(_module_file(frame))
        ):
            known = None
        else:
            known = paths.display(code.co_filename)
        self._codes[id(code)] = known
        self._seen.append(code)
        return known

    def stamp(self, record: Event) -> list[tuple[FrameType, int]]:
        """Set ``file``, ``line`` (and for SQL: ``cause``, and where known ``object``, the label
        of the object loaded, and ``via``: ``"get"`` for ``Session.get()``) from one walk of the
        stack.

        Returns:
            The frames of the user's code with the line each is at, innermost (the one ``file``
            and ``line`` name) first, up to the first library frame above them: where in which
            call of which function the statement was sent, which tells a loop from two calls.
        """
        get = self._codes.get
        found: Found = []
        file: str | None = None
        line: int | None = None
        user: list[tuple[FrameType, int]] = []
        by_get = False
        walk = frames(sys._getframe(1))
        for frame in walk:
            known = get(id(frame.f_code), _UNSEEN)
            if known is _UNSEEN:
                known = self._learn(frame)
            if known is not None:  # not plain library code, the common case
                if known is _MARKED:
                    found.append((frame.f_code, frame))
                elif known is _GET:
                    by_get = True
                    entity = frame.f_locals.get("entity")
                    if isinstance(entity, type):
                        record["entity"] = entity.__name__
                else:
                    file, line = cast(str, known), _template_line(frame)
                    user.append((frame, frame.f_lineno))
                    if not found and record["kind"] == "sql" and _called_by_event(frame):
                        record["cause"] = "event listener"
                    break
        # The user's frames that called that one, up to the first frame of a library: a loop over
        # a helper function is in them, and a framework's frames (a request being served) end them.
        for frame in walk:
            known = get(id(frame.f_code), _UNSEEN)
            if known is _UNSEEN:
                known = self._learn(frame)
            if known is None or known is _MARKED or known is _GET:
                break
            user.append((frame, frame.f_lineno))
        record["line"] = line
        record["file"] = file
        if record["kind"] != "sql":
            return user
        record["cause"] = cause_of(record["statement"], found, record["cause"], self._label)
        if by_get:
            record["via"] = "get"
        subject = _subject(found[0][1]) if found else None
        if subject is None:
            return user
        record["object"] = label = self._label(subject)
        if file is None and self._loaded_at is not None:
            record["file"], record["line"] = self._loaded_at(label)
            if record["file"] is not None:
                record["located"] = "parent rows"
        return user


def _template_line(frame: FrameType) -> int:
    """The line of ``frame``; for a Jinja2 template, the template's own line, not the line of the
    Python code Jinja2 generated from it (the mapping Jinja2's own tracebacks use)."""
    template = frame.f_globals.get("__jinja_template__")
    if template is None:
        return frame.f_lineno
    try:
        return int(template.get_corresponding_lineno(frame.f_lineno))
    except Exception:  # noqa: BLE001 - a template object of another shape: the generated line
        return frame.f_lineno
