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
from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapper, Session, scoped_session, sessionmaker

from .._transcript.counting import count as count_statements
from .._transcript.counting import is_statement
from .._transcript.schema import TRANSACTION_EVENTS
from .._transcript.sql import fold
from .locate import CallerLocator, Where, statement_cause
from .objects import ObjectRegistry
from .recorder import EngineRecorder, Event, Sink

__all__ = ["Capture", "capture", "series"]

_TRANSACTION_TEXT = {"begin": "BEGIN (implicit)", "commit": "COMMIT", "rollback": "ROLLBACK"}


def _binds(session: Session) -> list[Any]:
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


def _resolve(target: Any) -> list[Engine | Connection]:
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


def _targets(targets: tuple[Any, ...]) -> list[Engine | Connection]:
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
def _preliminary(_statement: str, context: Any) -> tuple[None, str]:
    return None, statement_cause(context)


def _no_line() -> None:
    return None


class _ConnectionRecorder(EngineRecorder):
    """An EngineRecorder for one Connection.

    SQLAlchemy 2.0 accepts ``handle_error`` only on an Engine (it lives on the dialect),
    so that one is heard on the connection's engine and kept when it is about this
    connection.
    """

    _EVENTS = tuple(name for name in EngineRecorder._EVENTS if name != "handle_error")  # type: ignore[assignment]

    def __init__(self, target: Connection, sink: Sink, failed: Callable[[BaseException], None]) -> None:
        super().__init__(target, sink, _preliminary, _no_line, failed)

    def install(self) -> None:
        super().install()
        event.listen(self.target.engine, "handle_error", self._on_connection_error)

    def remove(self) -> None:
        # Also after a partial install: remove what is there, nothing else.
        if event.contains(self.target.engine, "handle_error", self._on_connection_error):
            event.remove(self.target.engine, "handle_error", self._on_connection_error)
        super().remove()

    def _on_connection_error(self, context: Any) -> None:
        if context.connection is not self.target:
            return
        try:
            self._on_handle_error(context)
        except Exception as error:  # noqa: BLE001 - never fail the statement under test
            self._failed(error)


class _EveryEngineRecorder(EngineRecorder):
    """An EngineRecorder on the ``Engine`` class (every engine), noting the dialects it hears."""

    def __init__(self, sink: Sink, failed: Callable[[BaseException], None]) -> None:
        super().__init__(Engine, sink, _preliminary, _no_line, failed)
        self.dialects: set[str] = set()

    def _before_cursor_execute(self, conn: Any, *args: Any) -> tuple[str, Any]:
        self.dialects.add(conn.dialect.name)
        return super()._before_cursor_execute(conn, *args)


def _recorder(
    target: Engine | Connection | None, sink: Sink, failed: Callable[[BaseException], None]
) -> EngineRecorder:
    if target is None:
        return _EveryEngineRecorder(sink, failed)
    if isinstance(target, Connection):
        return _ConnectionRecorder(target, sink, failed)
    return EngineRecorder(target, sink, _preliminary, _no_line, failed)


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

    def __init__(self, *targets: Any, strict: bool = False) -> None:
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
        locator = CallerLocator(self._registry.label, self._loaded_where)
        last: list[Where] = [(None, None)]

        def sink(record: Event) -> None:
            locator.stamp(record)
            self._events.append(record)
            if record["kind"] == "sql":
                last[0] = (record["file"], record["line"])

        def loaded(target: Any, _context: Any) -> None:
            # An object built from a row: the row came with the statement heard last.
            try:
                self._loaded.setdefault(self._registry.label(target), last[0])
            except Exception as error:  # noqa: BLE001 - never fail the load under test
                self._failures.append(error)

        self._on_load: Callable[[Any, Any], None] | None = loaded
        try:
            for target in self._targets:
                recorder = _recorder(target, sink, self._failures.append)
                self._recorders.append(recorder)  # first: removed even if install fails halfway
                self._all_recorders.append(recorder)
                recorder.install()
            event.listen(Mapper, "load", loaded)
        except BaseException:
            self._remove()
            raise
        return self

    def _loaded_where(self, label: str) -> Where:
        return self._loaded.get(label, (None, None))

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
        if self._strict and not self._events:
            raise AssertionError(
                f"capture(strict=True) saw no SQL at all on {self.target}: does the code under test "
                "use another engine? capture() with no target watches every engine"
            )

    def _remove(self) -> None:
        self._state = _State.CLOSED
        on_load = getattr(self, "_on_load", None)  # None until __enter__
        if on_load is not None and event.contains(Mapper, "load", on_load):
            event.remove(Mapper, "load", on_load)
        while self._recorders:
            self._recorders.pop().remove()

    @property
    def events(self) -> list[Event]:
        """Every event so far, transaction control included (kinds as in transcripts).

        Each is a fresh dict: ``kind``, ``line``, ``file``; SQL events also have
        ``statement`` (as sent to the driver), ``parameters``, ``executemany``,
        ``cause``, ``rowcount``, ``duration_ms`` and, when the driver raised, ``error``.
        """
        return [dict(record) for record in self._events]

    def _sql(self) -> list[Event]:
        return [record for record in self._events if is_statement(record)]

    @property
    def sql_events(self) -> list[Event]:
        """The events behind :attr:`statements`, in the same order (fresh dicts)."""
        return [dict(record) for record in self._sql()]

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
        return count_statements(self._events, None if kind is None else kind.lower())

    def snapshot(
        self, *, params: bool = True, causes: bool = True, transactions: bool = True
    ) -> dict[str, Any]:
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
        events: list[Any] = []
        for record in self._events:
            if record["kind"] in TRANSACTION_EVENTS:
                if transactions:
                    events.append(_TRANSACTION_TEXT[record["kind"]])
                continue
            if not is_statement(record):
                continue
            entry: dict[str, Any] = {"sql": fold(record["statement"])}
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
        return f"<Capture {self._state.value}: {self.count()} statements>"


def capture(*targets: Any, strict: bool = False) -> Capture:
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
