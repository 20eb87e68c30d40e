"""``sqlecho.capture(engine)``: record the SQL a block of code sends, for tests.

A :class:`Capture` installs an :class:`~sqlecho._record.recorder.EngineRecorder` on each
engine or connection it watches (with no target: on the ``Engine`` class, so every engine of the
process, asyncio ones included, is heard) and removes it on exit, also when the block raises.
Every event is stamped with the file and line of the user's code that caused it
(see ``locate.CallerLocator``).

Results are live: ``statements``, ``events`` and ``count()`` may be read inside the
block and give what was captured so far. Unlike Rich's ``Console.capture()``, whose
text is incomplete until exit, each event is complete as soon as it fires, and a
test that checks a count halfway ("the first access loaded nothing") is a real use.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.orm import Mapper, Session, scoped_session, sessionmaker

from .._transcript.counting import TRANSACTION_KINDS, is_statement, kind_of
from .._transcript.counting import count as count_statements
from .._transcript.schema import TRANSACTION_EVENTS
from .._transcript.sql import fold
from .eager import EagerLoad, EagerLoads
from .locate import CallerLocator, Where, statement_cause
from .objects import ObjectRegistry
from .recorder import EngineRecorder, Event, Sink
from .watch import allowances, opened, requests_in_flight

__all__ = ["KINDS", "Capture", "analysed_events", "capture", "count_kind", "eager_loads", "series"]

KINDS = (
    "select",
    "insert",
    "update",
    "delete",
    "savepoint",
    "create",
    "drop",
    "alter",
    "pragma",
    "begin",
    "commit",
    "rollback",
)
"""What ``Capture.count`` counts: statement kinds and transaction events."""

# Statements that set a connection up or change the schema: a capture that heard only these
# while other engines ran queries most likely watches the wrong engine.
_CHATTER = frozenset({"pragma", "create", "drop", "alter", "set", "show"})

_TRANSACTION_TEXT = {"begin": "BEGIN (implicit)", "commit": "COMMIT", "rollback": "ROLLBACK"}


def _binds(session: Session) -> list[Engine | Connection]:
    binds = [session.bind] if session.bind is not None else []
    # ``Session.binds`` is public from SQLAlchemy 2.1; 2.0 has it name-mangled.
    per_entity = getattr(session, "binds", None) or getattr(session, "_Session__binds", None) or {}
    binds.extend(per_entity.values())
    if not binds:
        raise ValueError(
            "capture(): this Session has no bind; create it with Session(engine) or capture the engine"
        )
    return binds


def _async_sessionmaker() -> type[Any]:
    try:
        from sqlalchemy.ext.asyncio import async_sessionmaker
    except ImportError:  # pragma: no cover - asyncio support not installed
        return sessionmaker
    return async_sessionmaker


def _resolve(target: object) -> list[Engine | Connection]:
    """The sync engines and connections to listen on for ``target``."""
    if isinstance(target, Engine | Connection):
        return [target]
    if isinstance(target, scoped_session):
        return _resolve(target())
    if isinstance(target, Session):
        return [item for bind in _binds(target) for item in _resolve(bind)]
    if isinstance(target, sessionmaker | _async_sessionmaker()):
        if target.kw.get("bind") is None:
            raise ValueError("capture(): this sessionmaker has no bind; capture the engine instead")
        return _resolve(target.kw["bind"])
    # AsyncSession, AsyncConnection, AsyncEngine: the sync object they drive.
    for name in ("sync_session", "sync_connection", "sync_engine"):
        inner = getattr(target, name, None)
        if inner is not None:
            return _resolve(inner)
    raise TypeError(
        "capture() takes an Engine, Connection, Session or sessionmaker "
        f"(sync or async), "
        f"not {type(target).__name__}"
    )


def _targets(targets: tuple[object, ...]) -> list[Engine | Connection]:
    """Resolved targets, without duplicates nor connections of a watched engine."""
    resolved: list[Engine | Connection] = []
    for target in targets:
        for item in _resolve(target):
            if not any(item is seen for seen in resolved):
                resolved.append(item)
    engines = [item for item in resolved if isinstance(item, Engine)]
    return [item for item in resolved if not (isinstance(item, Connection) and item.engine in engines)]


# EngineRecorder asks for locations while it builds a record; the sink fills them in,
# where one walk of the stack gives file, line and cause together.
def _preliminary(_statement: str, context: object) -> tuple[None, str]:
    return None, statement_cause(context)


def _no_line() -> None:
    return None


# The Connection whose statement is being recorded, for the sink (which gets only the event).
_SENDING = threading.local()


class _Recorder(EngineRecorder):
    """An EngineRecorder that tells the sink which Connection sent each statement."""

    def _before_cursor_execute(
        self,
        conn: Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        many: bool,
    ) -> tuple[str, object]:
        _SENDING.connection = conn
        try:
            return super()._before_cursor_execute(conn, cursor, statement, parameters, context, many)
        finally:
            _SENDING.connection = None


class _ConnectionRecorder(_Recorder):
    """An EngineRecorder for one Connection.

    SQLAlchemy 2.0 accepts ``handle_error`` only on an Engine (it lives on the dialect),
    so that one is heard on the connection's engine and kept when it is about this
    connection.
    """

    _EVENTS = tuple(name for name in EngineRecorder._EVENTS if name != "handle_error")  # type: ignore[assignment]

    def __init__(self, target: Connection, sink: Sink, failed: Callable[[BaseException], None]) -> None:
        super().__init__(target, sink, _preliminary, _no_line, failed)
        self.connection = target

    def install(self) -> None:
        super().install()
        event.listen(self.connection.engine, "handle_error", self._on_connection_error)

    def remove(self) -> None:
        # Also after a partial install: remove what is there, nothing else.
        if event.contains(self.connection.engine, "handle_error", self._on_connection_error):
            event.remove(self.connection.engine, "handle_error", self._on_connection_error)
        super().remove()

    def _on_connection_error(self, context: ExceptionContext) -> None:
        if context.connection is not self.target:
            return
        try:
            self._on_handle_error(context)
        except Exception as error:  # noqa: BLE001 - never fail the statement under test
            self._failed(error)


class _EveryEngineRecorder(_Recorder):
    """An EngineRecorder on the ``Engine`` class (every engine), noting the dialects it hears."""

    def __init__(self, sink: Sink, failed: Callable[[BaseException], None]) -> None:
        super().__init__(Engine, sink, _preliminary, _no_line, failed)
        self.dialects: set[str] = set()

    def _before_cursor_execute(
        self,
        conn: Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        many: bool,
    ) -> tuple[str, object]:
        self.dialects.add(conn.dialect.name)
        return super()._before_cursor_execute(conn, cursor, statement, parameters, context, many)


def _recorder(
    target: Engine | Connection | None, sink: Sink, failed: Callable[[BaseException], None]
) -> EngineRecorder:
    if target is None:
        return _EveryEngineRecorder(sink, failed)
    if isinstance(target, Connection):
        return _ConnectionRecorder(target, sink, failed)
    return _Recorder(target, sink, _preliminary, _no_line, failed)


def series(version: str) -> str:
    """``major.minor`` of a version (``2.1.9`` -> ``2.1``): what snapshots record, so that a patch
    release, which does not change the SQL, does not rewrite them."""
    return ".".join(version.split(".")[:2])


class _State(enum.Enum):
    """Where a Capture is in its one use."""

    NEW = "new"  # created, listeners not installed yet
    ACTIVE = "active"  # inside the ``with`` block: recording
    CLOSED = "closed"  # block left: listeners removed, results final


class Capture:
    """Records the SQL sent through some engines while a ``with`` block runs.

    Create it with :func:`capture`. Results are live: reading them inside the block
    gives what was captured so far. A Capture is used once: call :func:`capture`
    again for a new block.
    """

    def __init__(self, *targets: object, strict: bool = False) -> None:
        """Args:
        targets: what to watch (see :func:`capture`); none: every engine of the process.
        strict: raise on exit when nothing at all was captured.
        """
        # None stands for "every engine": one recorder on the Engine class.
        self._targets: list[Engine | Connection | None] = [*_targets(targets)] if targets else [None]
        self._strict = strict
        self._events: list[Event] = []
        # Label -> where its row was loaded: the line of a lazy load that no user frame caused.
        self._loaded: dict[str, Where] = {}
        self._registry = ObjectRegistry()
        self._recorders: list[EngineRecorder] = []
        self._all_recorders: list[EngineRecorder] = []  # also after exit, for snapshot()'s dialects
        self._failures: list[BaseException] = []
        self._state = _State.NEW
        # Label -> number of the statement that loaded (or refreshed) its row: loads for objects
        # of one query are an N+1, loads for objects of separate queries (two requests) are not.
        self._parents: dict[str, int] = {}
        # id(frame) -> call number; the frames are kept alive until the block ends, so that an
        # id is not reused by another call of the same function.
        self._calls: dict[int, int] = {}
        self._frames: list[FrameType] = []
        # Which unit of work sent a statement: its Session, or for Core its Connection (both
        # kept alive until the block ends, so that their ids stay theirs).
        self._units: dict[int, int] = {}
        self._unit_owners: list[object] = []
        self._sessions: dict[int, Session] = {}  # id(Connection) -> the Session it serves
        # Statements that other engines (or other connections of a watched engine) ran meanwhile,
        # apart from schema changes and connection set-up: "the code used another engine".
        self.elsewhere = 0
        self._eager: EagerLoads | None = None
        self._elsewhere_listener: Callable[..., None] | None = None

    @property
    def target(self) -> str:
        """What this capture watches, for messages: ``Engine(sqlite://)``, or ``every engine``."""
        return ", ".join("every engine" if item is None else repr(item) for item in self._targets)

    @property
    def active(self) -> bool:
        """True between entering and leaving the ``with`` block."""
        return self._state is _State.ACTIVE

    def __enter__(self) -> Capture:
        if self._state is not _State.NEW:
            raise RuntimeError("this Capture has already been used; call capture(...) again for a new block")
        self._state = _State.ACTIVE
        opened(self)
        open_rules = allowances()
        in_flight = requests_in_flight()
        locator = CallerLocator(self._registry.label, self._loaded_where)
        last: list[tuple[str | None, int | None, int]] = [(None, None, -1)]

        def sink(record: Event) -> None:
            user = locator.stamp(record)
            if record["kind"] == "sql":
                label = record.get("object")
                parent = None if label is None else self._parents.get(label)
                if parent is not None:
                    record["_parent"] = parent
                record["_unit"] = self._unit(getattr(_SENDING, "connection", None))
                if not user and parent is not None:
                    # Placed where its object was loaded: it was sent from there, too.
                    record["_site"] = self._events[parent].get("_site")
                else:
                    record["_site"] = self._site(user)
                if open_rules:
                    record["_allowed"] = tuple(open_rules)
                if in_flight:
                    record["_requests"] = tuple(in_flight)
                last[0] = (record["file"], record["line"], len(self._events))
                eager.sent(record["cause"], len(self._events))
            self._events.append(record)

        def loaded(target: object, _context: object, *_attrs: object) -> None:
            # An object built (or refreshed) from a row: the row came with the statement heard last.
            try:
                label = self._registry.label(target)
                file, line, number = last[0]
                self._loaded.setdefault(label, (file, line))
                self._parents.setdefault(label, number)
            except Exception as error:  # noqa: BLE001 - never fail the load under test
                self._failures.append(error)

        self._on_load: Callable[..., None] | None = loaded
        eager = self._eager = EagerLoads(self._registry.label, self._failures.append)
        try:
            for target in self._targets:
                recorder = _recorder(target, sink, self._failures.append)
                self._recorders.append(recorder)  # first: removed even if install fails halfway
                self._all_recorders.append(recorder)
                recorder.install()
            event.listen(Mapper, "load", loaded)
            event.listen(Mapper, "refresh", loaded)
            event.listen(Mapper, "load", eager.loaded)
            eager.start()
            event.listen(Session, "after_begin", self._began)
            if self._targets != [None]:
                self._elsewhere_listener = self._listen_elsewhere()
        except BaseException:
            self._remove()
            raise
        return self

    def _loaded_where(self, label: str) -> Where:
        return self._loaded.get(label, (None, None))

    def _number(self, owner: object) -> int:
        known = self._units.get(id(owner))
        if known is None:
            known = self._units[id(owner)] = len(self._units)
            self._unit_owners.append(owner)
        return known

    def _unit(self, connection: object) -> int | None:
        """The number of the Session (or, outside one, the Connection) that sent a statement."""
        if connection is None:
            return None
        session = self._sessions.get(id(connection))
        return self._number(connection if session is None else session)

    def _began(self, session: Session, _transaction: object, connection: Connection) -> None:
        # A Session's transaction took a connection: its statements are that Session's.
        try:
            self._sessions[id(connection)] = session
            self._unit_owners.append(connection)
        except Exception as error:  # noqa: BLE001 - never fail the session under test
            self._failures.append(error)

    def _site(self, user: list[tuple[FrameType, int]]) -> tuple[object, ...] | None:
        """Where a statement was sent from, as a loop sees it: the line of each of the user's
        frames that called one another (up to a library's frame: a framework serving a request)
        and which call of the outermost one. Every turn of a loop gives the same site (also
        through a helper function called per item); two requests, two calls of a test's helper
        from two lines, give two."""
        if not user:
            return None
        outermost = user[-1][0]
        call = self._calls.get(id(outermost))
        if call is None:
            call = self._calls[id(outermost)] = len(self._calls)
            self._frames.append(outermost)
        return (call, *((frame.f_code, line) for frame, line in user))

    def _listen_elsewhere(self) -> Callable[..., None]:
        """Count the statements that engines and connections this capture does not watch send."""
        engines = [target for target in self._targets if isinstance(target, Engine)]
        connections = [target for target in self._targets if isinstance(target, Connection)]

        def heard(conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
            try:
                if any(conn.engine is engine for engine in engines):
                    return
                if any(conn is connection for connection in connections):
                    return
                if self._eager is not None:
                    self._eager.unheard()
                if kind_of(statement) not in _CHATTER and kind_of(statement) not in TRANSACTION_KINDS:
                    self.elsewhere += 1
            except Exception as error:  # noqa: BLE001 - never fail the statement under test
                self._failures.append(error)

        event.listen(Engine, "before_cursor_execute", heard)
        return heard

    def work(self) -> int:
        """Statements captured apart from schema changes and connection set-up (``PRAGMA``...)."""
        self._require_used()
        return sum(1 for record in self._sql() if kind_of(record["statement"]) not in _CHATTER)

    def wrong_engine(self) -> str | None:
        """Why this capture most likely watched the wrong engine, or None.

        A capture that heard no statement at all, or only schema changes and connection set-up
        while other engines ran queries, proves nothing about the code under test.
        """
        self._require_used()
        if not self._events:
            return f"saw no SQL at all on {self.target}"
        if self.elsewhere and not self.work():
            return (
                f"saw only schema changes or connection set-up on {self.target}, while other engines "
                f"ran {self.elsewhere} statement{'' if self.elsewhere == 1 else 's'}"
            )
        return None

    def _require_used(self) -> None:
        if self._state is _State.NEW:
            raise RuntimeError(
                "this Capture was never started: use it as `with capture(engine) as cap:` "
                "and read it inside or after the block"
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._remove()
        if exc_type is not None:
            return
        # The recorder swallows its own failures so that the code under test runs on;
        # a test must not pass on results that are silently incomplete.
        if self._failures:
            failure = self._failures[0]
            raise RuntimeError(f"sqlecho could not record an event: {failure!r}") from failure
        wrong = self.wrong_engine() if self._strict else None
        if wrong is not None:
            raise AssertionError(
                f"capture(strict=True) {wrong}: does the code under test "
                "use another engine? capture() with no target watches every engine"
            )

    def _remove(self) -> None:
        self._state = _State.CLOSED
        on_load = getattr(self, "_on_load", None)  # None until __enter__
        for name in ("load", "refresh"):
            if on_load is not None and event.contains(Mapper, name, on_load):
                event.remove(Mapper, name, on_load)
        eager = self._eager
        if eager is not None:
            if event.contains(Mapper, "load", eager.loaded):
                event.remove(Mapper, "load", eager.loaded)
            eager.stop()
        if event.contains(Session, "after_begin", self._began):
            event.remove(Session, "after_begin", self._began)
        elsewhere, self._elsewhere_listener = self._elsewhere_listener, None
        if elsewhere is not None and event.contains(Engine, "before_cursor_execute", elsewhere):
            event.remove(Engine, "before_cursor_execute", elsewhere)
        while self._recorders:
            self._recorders.pop().remove()
        # No more calls to tell apart: the frames (and their locals) need not be kept alive.
        self._frames.clear()
        self._calls.clear()
        self._unit_owners.clear()
        self._units.clear()
        self._sessions.clear()

    @property
    def events(self) -> list[Event]:
        """Every event so far, transaction control included (kinds as in transcripts).

        Each is a fresh dict: ``kind``, ``line``, ``file``; SQL events also have
        ``statement`` (as sent to the driver), ``parameters``, ``executemany``,
        ``cause``, ``rowcount``, ``duration_ms`` and, when the driver raised, ``error``.
        """
        self._require_used()
        return [_public(record) for record in self._events]

    def _sql(self) -> list[Event]:
        self._require_used()
        return [record for record in self._events if is_statement(record)]

    @property
    def sql_events(self) -> list[Event]:
        """The events behind :attr:`statements`, in the same order (fresh dicts)."""
        return [_public(record) for record in self._sql()]

    @property
    def statements(self) -> list[str]:
        """SQL of each statement so far, whitespace folded; no BEGIN/COMMIT/ROLLBACK."""
        return [fold(record["statement"]) for record in self._sql()]

    def count(self, kind: str | None = None) -> int:
        """How many statements of ``kind`` (``"select"``, ``"insert"``...) were sent.

        Without ``kind``: all statements. ``"begin"``, ``"commit"`` and ``"rollback"``
        count transaction control instead, which ``statements`` leaves out: SQLAlchemy's
        transaction events and the same verbs sent as text. The rules are
        :mod:`sqlecho._transcript.counting`'s, shared with lessons, checks and the app.
        """
        if kind is not None and not isinstance(kind, str):
            raise TypeError(f"count() takes a statement kind such as 'select', not {type(kind).__name__}")
        self._require_used()
        if kind is None:
            return count_statements(self._events)
        if kind.lower() not in KINDS:
            raise TypeError(
                f"count() got an unknown kind {kind!r}; the kinds it counts are: {', '.join(KINDS)}"
            )
        return count_kind(self._events, kind.lower())

    def snapshot(
        self, *, params: bool = True, causes: bool = True, transactions: bool = True
    ) -> dict[str, object]:
        """A stable structure for snapshot tests: ``assert cap.snapshot() == snapshot``.

        Holds SQLAlchemy's ``major.minor`` version and the dialect (the SQL depends on both;
        a patch release does not change it, so it does not rewrite snapshots) and the events:
        each statement with its parameters and cause, and ``BEGIN``/``COMMIT``/``ROLLBACK``
        where they happened. No timings, files or lines, which change for other reasons.

        Args:
            params: include each statement's parameters.
            causes: include why each statement ran (``lazy load Hero.team``...).
            transactions: include BEGIN/COMMIT/ROLLBACK, as ``"BEGIN (implicit)"``, ``"COMMIT"``...
        """
        self._require_used()
        events: list[str | dict[str, object]] = []
        for record in self._events:
            if record["kind"] in TRANSACTION_EVENTS:
                if transactions:
                    events.append(_TRANSACTION_TEXT[record["kind"]])
                continue
            if not is_statement(record):
                continue
            entry: dict[str, object] = {"sql": fold(record["statement"])}
            if params:
                entry["params"] = record["parameters"]
            if causes:
                entry["cause"] = record["cause"]
            events.append(entry)
        dialects: set[str] = set()
        for recorder in self._all_recorders:
            if isinstance(recorder, _EveryEngineRecorder):
                dialects |= recorder.dialects
        dialects.update(target.dialect.name for target in self._targets if target is not None)
        return {
            "sqlalchemy": series(sqlalchemy.__version__),
            "dialect": ", ".join(sorted(dialects)),
            "events": events,
        }

    def __repr__(self) -> str:
        if self._state is _State.NEW:
            return "<Capture new: not started>"
        return f"<Capture {self._state.value}: {self.count()} statements>"

    @property
    def started(self) -> bool:
        """True once the ``with`` block was entered (also after it ended)."""
        return self._state is not _State.NEW


def _public(record: Event) -> Event:
    """A copy of an event without the keys the N+1 analysis keeps for itself (``_site``...)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def analysed_events(cap: Capture) -> list[Event]:
    """Every event of ``cap`` (copies) with what the N+1 analysis needs besides: ``_site``, where
    it was sent from as a loop sees it; ``_unit``, its Session or Connection; ``_parent``, the
    index of the statement that loaded its object; ``_allowed``, the allow rules open then."""
    cap._require_used()
    return [dict(record) for record in cap._events]


def eager_loads(cap: Capture) -> list[EagerLoad]:
    """The eager loads ``cap`` saw, in order, each saying whether the program read what it loaded
    (see :mod:`.eager`)."""
    cap._require_used()
    return [] if cap._eager is None else list(cap._eager.loads)


def count_kind(events: list[Event], kind: str) -> int:
    """How many of ``events`` are of ``kind`` (one of :data:`KINDS`), by the rules of
    :mod:`sqlecho._transcript.counting`, shared with lessons, checks and the app."""
    return count_statements(events, kind)


def capture(*targets: object, strict: bool = False) -> Capture:
    """Capture the SQL sent through ``targets`` inside a ``with`` block.

    Args:
        targets: Engines, Connections, Sessions or sessionmakers, or their asyncio
            versions, captured together in order. A Session is watched through its bind(s).
            None: every Engine and AsyncEngine of the process, also those created inside the
            block (no "wrong engine" trap when a test overrides the application's engine).
        strict: raise ``AssertionError`` on exit when nothing at all was captured.

    Returns:
        A :class:`Capture`; use it as ``with capture(engine) as cap: ...``.
    """
    return Capture(*targets, strict=strict)
