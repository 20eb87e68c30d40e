"""Turn SQLAlchemy's public events into transcript events (plain dicts, see docs/transcript.md).

Two recorders share one event sink:

- :class:`EngineRecorder` listens to connection events (BEGIN, each statement as sent to the
  driver, COMMIT, ROLLBACK, errors). The tracer installs it on the ``Engine`` class, so every
  engine the program creates is heard; :func:`sqlecho.capture` installs it on one engine.
- :class:`OrmRecorder` listens to session lifecycle and instance events (state transitions,
  expiry, refresh, loads) for every session and mapped class.
"""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Callable, Iterable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstanceState, Mapper, Session

from .._transcript.values import jsonable_row, mask_addresses
from .objects import ObjectRegistry

if TYPE_CHECKING:
    from sqlalchemy.engine import ExceptionContext
    from sqlalchemy.orm import ORMExecuteState

__all__ = ["EngineRecorder", "Event", "OrmRecorder", "Sink"]

Event = dict[str, Any]
Sink = Callable[[Event], None]
# (statement, execution context) -> (line, cause); called from inside the listener, so it may
# walk the stack.
Locate = Callable[[str, object], tuple[object, str]]


def _parameters(parameters: object, many: bool) -> object:
    if many:
        return [_parameters(row, False) for row in cast("Iterable[object]", parameters)]
    if type(parameters) is dict:
        # Named parameters (psycopg's): their order means nothing to the driver, and SQLAlchemy
        # builds some of these dicts in an order that changes from process to process.
        return jsonable_row(dict(sorted(parameters.items(), key=lambda item: str(item[0]))))
    return jsonable_row(parameters)


def _lock(context: object) -> str | None:
    """The row lock the ORM statement asked for (``FOR UPDATE``...), from the statement itself:
    SQLite's compiler leaves ``with_for_update()`` out of the SQL, and a learner's lock must not
    vanish from the transcript with it."""
    arg = getattr(getattr(getattr(context, "compiled", None), "statement", None), "_for_update_arg", None)
    if arg is None:
        return None
    words = ["FOR SHARE" if arg.read else "FOR UPDATE"]
    if arg.nowait:
        words.append("NOWAIT")
    if arg.skip_locked:
        words.append("SKIP LOCKED")
    return " ".join(words)


def _guard(fn: Callable[..., None], on_error: Callable[[BaseException], None] | None) -> Callable[..., None]:
    """``fn`` as a listener that never raises into SQLAlchemy: a bug of ours must not change what
    the traced program does. Failures go to ``on_error``."""

    def guarded(*args: object) -> None:
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported through on_error
            if on_error is not None:
                on_error(exc)

    return guarded


def _batch(depth: int = 2, search: int = 6) -> list[int] | None:
    """For an insertmanyvalues batch: [number, total], read from SQLAlchemy's loop variable."""
    frame: FrameType | None = sys._getframe(depth)
    for _ in range(search):
        if frame is None:
            return None
        code = frame.f_code
        has = _HAS_BATCH.get(id(code))
        if has is None:
            has = _HAS_BATCH[id(code)] = "imv_batch" in code.co_varnames
            _SEEN.append(code)  # keeps its id from being reused
        if has:
            batch = frame.f_locals.get("imv_batch")
            if batch is not None:
                return [batch.batchnum, batch.total_batches]
        frame = frame.f_back
    return None


# id(code object) -> does it have the ``imv_batch`` variable (looked up by name once per code
# object: a few of SQLAlchemy's functions, whose code lives as long as the process).
_HAS_BATCH: dict[int, bool] = {}
_SEEN: list[CodeType] = []


class EngineRecorder:
    """Records transaction control and every cursor execution on ``target``."""

    _EVENTS = (
        "begin",
        "commit",
        "rollback",
        "before_cursor_execute",
        "after_cursor_execute",
        "handle_error",
        "do_connect",
    )

    def __init__(
        self,
        target: object,
        sink: Sink,
        locate: Locate,
        line: Callable[[], object],
        on_internal_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Args:
        target: the Engine class (every engine) or an Engine. (SQLAlchemy takes ``handle_error``
            only at engine level; :mod:`sqlecho._record.capture` narrows an engine's events to one
            Connection.)
        sink: receives each event dict as it happens.
        locate: gives (line, cause) for a statement, called from inside the listener.
        line: gives the causing line for a transaction event, called from inside the listener.
        on_internal_error: told about a failure inside a listener, which is swallowed: a bug of
            ours must never make the program's statement fail.
        """
        self.target = target
        self._on_internal_error = on_internal_error
        # The listeners that run per statement or transaction catch their own failures (one call
        # less than a guarding wrapper), and before_cursor_execute is registered with
        # retval=True, which spares the wrapper SQLAlchemy puts around a listener without it.
        self._listeners: dict[str, tuple[Callable[..., object], dict[str, object]]] = {
            "begin": (self._transaction("begin"), {}),
            "commit": (self._transaction("commit"), {}),
            "rollback": (self._transaction("rollback"), {}),
            "before_cursor_execute": (self._before_cursor_execute, {"retval": True}),
            "after_cursor_execute": (self._after_cursor_execute, {}),
            "handle_error": (_guard(self._on_handle_error, on_internal_error), {}),
            "do_connect": (self._on_do_connect, {}),
        }
        self._sink = sink
        self._locate = locate
        self._line = line
        self._pending: dict[int, tuple[Event, float]] = {}
        self._last: Event | None = None
        self._installed: list[str] = []

    def install(self) -> None:
        # Remember each listener as it goes on, so that a failure halfway leaves nothing behind
        # once remove() runs.
        for name in self._EVENTS:
            if name == "do_connect" and isinstance(self.target, Connection):
                continue  # a Connection is connected already: no first connection to watch
            fn, options = self._listeners[name]
            event.listen(self.target, name, fn, **options)
            self._installed.append(name)

    def remove(self) -> None:
        while self._installed:
            name = self._installed.pop()
            event.remove(self.target, name, self._listeners[name][0])

    def _failed(self, exc: BaseException) -> None:
        if self._on_internal_error is not None:
            self._on_internal_error(exc)

    def _transaction(self, kind: str) -> Callable[[object], None]:
        """The listener of the BEGIN, COMMIT or ROLLBACK event ``kind``."""

        def listener(_conn: object) -> None:
            try:
                self._sink({"kind": kind, "line": self._line()})
            except Exception as exc:  # noqa: BLE001 - reported, never raised into the program
                self._failed(exc)

        return listener

    def _before_cursor_execute(
        self,
        _conn: Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> tuple[str, object]:
        try:
            line, cause = self._locate(statement, context)
            batch = None
            # insertmanyvalues passes executemany=True with one (flattened) row per batch.
            if executemany and not isinstance(parameters, list):
                batch = _batch()
                executemany = False
            record: Event = {
                "kind": "sql",
                "line": line,
                "statement": statement,
                "parameters": _parameters(parameters, executemany),
                "executemany": executemany,
                "cause": cause,
            }
            if batch is not None:
                record["batch"] = batch
            if lock := _lock(context):
                record["lock"] = lock
            self._pending[id(cursor)] = (record, time.perf_counter())
            self._last = record
            self._sink(record)
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the statement
            self._failed(exc)
        return statement, parameters

    def _on_do_connect(self, dialect: Any, _record: object, _cargs: object, _cparams: object) -> None:
        """Before an engine's first connection: record the dialect's own first queries.

        A server dialect asks the server a few things on its first connection (PostgreSQL:
        ``select pg_catalog.version()``, ``select current_schema()``, ...). SQLAlchemy sends them
        on a connection that fires no event, but echo logs them: to show what echo shows, the
        dialect's ``initialize`` is watched, once, at the level where echo logs (``do_execute``).
        SQLite's dialect asks nothing, so its programs see no change.
        """
        try:
            if "initialize" not in vars(dialect) and not getattr(dialect, "_sqlecho_initialized", False):
                dialect.initialize = self._watched_initialize(dialect)
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the connect
            self._failed(exc)

    def _watched_initialize(self, dialect: Any) -> Callable[[object], None]:
        original = dialect.initialize

        def record(statement: str, parameters: object, context: object) -> Event:
            # Only the line: the cause is known, and finding one may configure the ORM's mappers,
            # which a program may have left broken on purpose before its first connection.
            line = self._line()
            event: Event = {
                "kind": "sql",
                "line": line,
                "statement": statement,
                "parameters": _parameters(parameters, False),
                "executemany": False,
                "cause": "connect",
            }
            self._sink(event)
            return event

        def timed(
            run: Callable[[], object], cursor: object, statement: str, parameters: object, context: object
        ) -> object:
            try:
                event: Event | None = record(statement, parameters, context)
            except Exception as exc:  # noqa: BLE001 - reported, never raised into the statement
                self._failed(exc)
                event = None
            started = time.perf_counter()
            result = run()
            if event is not None:
                event["rowcount"] = getattr(cursor, "rowcount", -1)
                event["duration_ms"] = round((time.perf_counter() - started) * 1_000_000) / 1000
            return result

        def initialize(connection: object) -> None:
            execute, execute_no_params = dialect.do_execute, dialect.do_execute_no_params

            def do_execute(
                cursor: object, statement: str, parameters: object, context: object = None
            ) -> object:
                return timed(
                    lambda: execute(cursor, statement, parameters, context),
                    cursor,
                    statement,
                    parameters,
                    context,
                )

            def do_execute_no_params(cursor: object, statement: str, context: object = None) -> object:
                return timed(
                    lambda: execute_no_params(cursor, statement, context), cursor, statement, {}, context
                )

            dialect.do_execute, dialect.do_execute_no_params = do_execute, do_execute_no_params
            try:
                original(connection)
            finally:
                # Only the first connection is initialized: the dialect goes back to its own methods.
                del dialect.do_execute, dialect.do_execute_no_params, dialect.initialize
                dialect._sqlecho_initialized = True

        return initialize

    def _after_cursor_execute(self, _conn: object, cursor: object, *_args: object) -> None:
        try:
            pending = self._pending.pop(id(cursor), None)
            if pending is None:
                return
            record, started = pending
            record["rowcount"] = getattr(cursor, "rowcount", -1)
            # Microseconds rounded, then milliseconds: round(x, 3) costs three times as much.
            record["duration_ms"] = round((time.perf_counter() - started) * 1_000_000) / 1000
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the statement
            self._failed(exc)

    def _on_handle_error(self, context: ExceptionContext) -> None:
        record = None
        cursor = getattr(context, "cursor", None)
        if cursor is not None and id(cursor) in self._pending:
            record, _started = self._pending.pop(id(cursor))
        elif self._last is not None and "rowcount" not in self._last:
            record = self._last
        if record is not None:
            error = context.original_exception
            record["error"] = f"{type(error).__name__}: {mask_addresses(str(error))}"


# Session events that move an object from one state to another: (event name, from, to).
_TRANSITIONS = (
    ("transient_to_pending", "transient", "pending"),
    ("pending_to_transient", "pending", "transient"),
    ("pending_to_persistent", "pending", "persistent"),
    ("persistent_to_transient", "persistent", "transient"),
    ("persistent_to_deleted", "persistent", "deleted"),
    ("deleted_to_persistent", "deleted", "persistent"),
    ("deleted_to_detached", "deleted", "detached"),
    ("persistent_to_detached", "persistent", "detached"),
    ("detached_to_persistent", "detached", "persistent"),
)
# The session events after_begin, before_flush and do_orm_execute make their session "the one
# the program used last"; transitions count as use too (session.add() is a transient_to_pending).


class OrmRecorder:
    """Records lifecycle transitions, loads, expiry and refresh for every session and object."""

    def __init__(
        self,
        registry: ObjectRegistry,
        sink: Sink,
        line: Callable[[], object],
        on_internal_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Args:
        registry: labels objects.
        sink: receives each event dict.
        line: gives the causing line, called from inside the listener.
        on_internal_error: told about a failure inside a listener, which is swallowed: a bug of
            ours must never change what the traced program does.
        """
        self._registry = registry
        self._sink = sink
        self._line = line
        self._on_internal_error = on_internal_error
        self.last_session: Callable[[], Session | None] = lambda: None
        self._sessions: list[tuple[str, weakref.ref[Session]]] = []
        self._session_ids: set[int] = set()
        self._listeners: list[tuple[object, str, Callable[..., object]]] = []

    def _listen(self, target: object, name: str, fn: Callable[..., object], **kw: object) -> None:
        event.listen(target, name, fn, **kw)
        self._listeners.append((target, name, fn))

    def _failed(self, exc: BaseException) -> None:
        if self._on_internal_error is not None:
            self._on_internal_error(exc)

    def install(self) -> None:
        # raw=True hands us InstanceStates: no attribute access on the object, and no gap when
        # the object itself has already been freed (SQLAlchemy still expires its state).
        # The listeners that fire per object catch their own failures (a guarding wrapper
        # would be one call more per event); the rare ones are guarded.
        for name, before, after in _TRANSITIONS:
            self._listen(Session, name, self._transition(before, after), raw=True)
        self._listen(Session, "loaded_as_persistent", self._on_loaded, raw=True)
        self._listen(Session, "after_begin", self._on_use)
        self._listen(Session, "before_flush", self._on_use)
        self._listen(Session, "do_orm_execute", self._on_execute)
        self._listen(Mapper, "init", self._on_init, raw=True)
        self._listen(Mapper, "expire", self._on_expire, raw=True)
        self._listen(Mapper, "refresh", _guard(self._on_refresh, self._on_internal_error), raw=True)

    def remove(self) -> None:
        while self._listeners:
            target, name, fn = self._listeners.pop()
            event.remove(target, name, fn)

    def _on_use(self, session: Session, *_args: object) -> None:
        try:
            if self.last_session() is not session:
                self._use(session)
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the program
            self._failed(exc)

    def _on_execute(self, execute_state: ORMExecuteState) -> None:
        self._on_use(execute_state.session)

    def _use(self, session: Session) -> None:
        self.last_session = weakref.ref(session)
        if session.hash_key not in self._session_ids:
            # Numbered in order of first use; hash_key is never reused within a process.
            self._session_ids.add(session.hash_key)
            self._sessions.append((f"Session#{len(self._sessions) + 1}", weakref.ref(session)))

    def sessions(self) -> list[tuple[str, Session]]:
        """(label, session) for every session the program used that is still alive, in order of
        first use (``Session#1``, ``Session#2``...)."""
        alive = [(label, ref()) for label, ref in self._sessions]
        return [(label, session) for label, session in alive if session is not None]

    def _transition(self, before: str, after: str) -> Callable[[Session, InstanceState[object]], None]:
        def listener(session: Session, state: InstanceState[object]) -> None:
            try:
                if self.last_session() is not session:
                    self._use(session)
                self._sink(
                    {
                        "kind": "transition",
                        "line": self._line(),
                        "object": self._registry.label(state),
                        "from": before,
                        "to": after,
                    }
                )
            except Exception as exc:  # noqa: BLE001 - reported, never raised into the program
                self._failed(exc)

        return listener

    def _on_loaded(self, _session: Session, state: InstanceState[object]) -> None:
        # Fired per row, right after the instance event "load": labels follow the row order.
        try:
            self._sink({"kind": "load", "line": self._line(), "object": self._registry.label(state)})
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the program
            self._failed(exc)

    def _on_init(self, state: InstanceState[object], _args: object, _kwargs: object) -> None:
        try:
            self._registry.label(state)
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the program
            self._failed(exc)

    def _on_expire(self, state: InstanceState[object], attrs: Iterable[str] | None) -> None:
        try:
            names = sorted(attrs) if attrs else sorted(state.expired_attributes)
            self._sink(
                {
                    "kind": "expire",
                    "line": self._line(),
                    "object": self._registry.label(state),
                    "attributes": names,
                }
            )
        except Exception as exc:  # noqa: BLE001 - reported, never raised into the program
            self._failed(exc)

    def _on_refresh(
        self, state: InstanceState[object], _context: object, attrs: Iterable[str] | None
    ) -> None:
        record: Event = {"kind": "refresh", "line": self._line(), "object": self._registry.label(state)}
        if attrs:
            # SQLAlchemy names the attributes it was asked to load, relationships included, but a
            # row fills only columns: a relationship stays expired (or unloaded) until it is read.
            # What the row filled is in the instance dict by now; a row that filled nothing (an
            # object already loaded, met again by a query) refreshed nothing.
            loaded = state.dict
            record["attributes"] = sorted(key for key in attrs if key in loaded)
            if not record["attributes"]:
                return
        self._sink(record)
