"""Assemble steps: the events a step caused, then a snapshot of the world once it is over."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._record.objects import ObjectRegistry
from .._record.recorder import Event
from .._transcript.schema import DATABASE_EVENTS, LIFECYCLE_EVENTS
from .options import TraceOptions
from .scratch import ScratchDatabases
from .server import ServerDatabase

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .._record.recorder import OrmRecorder

__all__ = ["Closing", "StepBuilder"]

_MAX_NAMES_PER_CONTAINER = 100
_MAX_VARIABLES = 20  # plain values shown per step
_MAX_REPR = 40  # characters of one value's repr
_PLAIN = (int, float, str, bool, type(None))
# tempfile.mkdtemp() names a folder "tmp" + 8 random characters: a value holding such a path
# (a lesson's database URL) would make the same program give a different transcript each run.
_TEMP_NAME = re.compile(r"(?<=[/\\])tmp[a-z0-9_]{8}(?=[/\\'\"]|$)")


class Closing:
    """True while the tracer, not the program, runs: a step's events are being put in order and
    its snapshot taken.

    A runner that interrupts the program (the sandbox's worker, when a limit fires) hands one to
    :func:`~sqlecho._trace.tracer.trace_source` and waits while it is true, so that it
    interrupts the program and not the transcript.
    """

    def __init__(self) -> None:
        self._depth = 0

    def __bool__(self) -> bool:
        return self._depth > 0

    def __enter__(self) -> None:
        self._depth += 1

    def __exit__(self, *_: object) -> None:
        self._depth -= 1


class StepBuilder:
    """Collects events into the current step and closes steps with a snapshot."""

    def __init__(
        self,
        registry: ObjectRegistry,
        databases: ScratchDatabases | ServerDatabase,
        options: TraceOptions,
        on_step: Callable[[dict[str, object]], None] | None,
        on_internal_error: Callable[[BaseException], None],
        closing: Closing | None = None,
    ) -> None:
        self.registry = registry
        self.closing = closing if closing is not None else Closing()
        self._on_internal_error = on_internal_error
        self.databases = databases
        self.options = options
        self.on_step = on_step
        self.session: OrmRecorder | None = None
        self.finished: list[dict[str, object]] = []
        self.current: dict[str, Any] | None = None
        self.truncated: dict[str, Any] = {}
        self._early: list[Event] = []
        # Where an event goes now: the open step's events, or the next step's (_early) when no
        # step is open.
        self._open = self._early
        self._events = 0
        self._max_events = options.max_events
        self._output = 0
        self._tables: dict[str, object] | None = None
        self._forgotten = 0
        self._database_touched = True

    # -- collecting ---------------------------------------------------------------------------

    def start(
        self,
        title: str | None,
        narrative: str,
        lines: list[int],
        after: str = "",
        exercise: dict[str, str] | None = None,
    ) -> None:
        """Open a step; ``after`` and ``exercise`` are written only when the cell has them."""
        self.current = {
            "index": len(self.finished),
            "title": title,
            "narrative": narrative,
            "lines": lines,
            "events": self._early,
            "objects": [],
            "session": None,
            "sessions": [],
            "variables": {},
            "tables": {},
            "error": None,
        }
        if after:
            self.current["after"] = after
        if exercise is not None:
            self.current["exercise"] = exercise
        self._early = []
        self._open = self.current["events"]

    def add(self, record: Event) -> None:
        if record["kind"] in DATABASE_EVENTS:  # only then is the database read again
            self._database_touched = True
        if self._events >= self._max_events:
            self.truncated["events_dropped"] = self.truncated.get("events_dropped", 0) + 1
            return
        self._events += 1
        self._open.append(record)

    def output(self, stream: str, text: str, line: int | None) -> None:
        room = self.options.max_output_chars - self._output
        if room <= 0:
            self.truncated["output"] = True
            return
        if len(text) > room:
            text = text[:room]
            self.truncated["output"] = True
        self._output += len(text)
        marker = None if stream == "stdout" else stream  # stdout output carries no "stream" field
        events = self._open
        last = events[-1] if events else None
        if last and last["kind"] == "output" and last["line"] == line and last.get("stream") == marker:
            last["text"] += text
            return
        record: Event = {"kind": "output", "line": line, "text": text}
        if marker is not None:
            record["stream"] = marker
        self.add(record)

    def fail(self, error: dict[str, object]) -> None:
        if self.current is not None:
            self.current["error"] = error

    def note_exit(self, code: int) -> None:
        self.add({"kind": "exit", "line": None, "code": code})

    def note(self, text: str) -> None:
        """A remark on the current step (the step's optional "notes" list)."""
        if self.current is not None:
            self.current.setdefault("notes", []).append(text)

    def at_limit(self) -> bool:
        return len(self.finished) >= self.options.max_steps

    def start_overflow(self, line: int) -> None:
        """After the step cap: one last step takes everything the program still does."""
        self.truncated["steps"] = self.options.max_steps
        self.start(
            f"The rest of the run (stepping stopped after {self.options.max_steps} steps)", "", [line, line]
        )

    # -- closing ------------------------------------------------------------------------------

    def finish(
        self, namespace: Mapping[str, object] | None, local: Mapping[str, object] | None = None
    ) -> None:
        step = self.current
        if step is None:
            return
        with self.closing:
            self.current = None
            self._open = self._early
            step["events"] = self._canonical(step["events"])
            if self.options.snapshots:
                try:
                    self._snapshot(step, [scope for scope in (local, namespace) if scope is not None])
                except Exception as exc:  # noqa: BLE001 - a snapshot must never end the program's run
                    self._on_internal_error(exc)
            self.finished.append(step)
            if self.on_step is not None:
                self.on_step(step)

    def _canonical(self, events: list[Event]) -> list[Event]:
        """Sort each run of lifecycle events of one line by object, since SQLAlchemy fires those
        of one flush in set order, which changes from run to run."""
        out: list[Event] = []
        run: list[Event] = []
        order = self.registry.order
        for record in [*events, {"kind": "", "line": None}]:
            if record["kind"] in LIFECYCLE_EVENTS and (not run or run[0]["line"] == record["line"]):
                run.append(record)
                continue
            if len(run) > 1:
                run.sort(key=lambda r: order(r["object"]))  # stable: one object's events keep their order
            out.extend(run)
            run = []
            if record["kind"] in LIFECYCLE_EVENTS:
                run.append(record)
            elif record["kind"]:
                out.append(record)
        return out

    def _snapshot(self, step: dict[str, object], scopes: list[Mapping[str, object]]) -> None:
        names = _names(scopes)
        sessions = self._sessions(names)
        by_key = {session.hash_key: record["name"] for session, record in sessions}
        step["objects"] = [
            self.registry.snapshot(obj, label, names.get(id(obj), []), by_key)
            for label, obj in self.registry.alive()
        ]
        step["sessions"] = [record for _, record in sessions]
        last = self.session.last_session() if self.session is not None else None
        for session, record in sessions:
            if session is last:
                step["session"] = {key: record[key] for key in ("new", "dirty", "deleted", "identity_map")}
        step["variables"] = _variables(scopes)
        if self._database_touched or self._tables is None or self._forgotten != self.databases.forgotten:
            self._tables = self.databases.tables()
            self._database_touched = False
            self._forgotten = self.databases.forgotten
        step["tables"] = self._tables

    def _sessions(self, names: dict[int, list[str]]) -> list[tuple[Session, dict[str, Any]]]:
        """Every live session the program used, in order of first use, as SESSION records named
        by the variable that refers to it (else by its label). A session that no variable holds
        and that tracks nothing is left out: it is gone for the program."""
        if self.session is None:
            return []
        labels = self.registry.labels_of
        last = self.session.last_session()
        taken: set[str] = set()
        out: list[tuple[Session, dict[str, Any]]] = []
        for label, session in self.session.sessions():
            held = [
                name
                for name in names.get(id(session), []) + _proxy_names(session, names)
                if name not in taken
            ]
            identity_map = labels(session.identity_map.values())
            new = labels(session.new)
            if not held and not identity_map and not new and session is not last:
                continue
            name = held[0] if held else label
            taken.add(name)
            record = {
                "name": name,
                "label": label,
                "new": new,
                "dirty": labels(session.dirty),
                "deleted": labels(session.deleted),
                "identity_map": identity_map,
            }
            out.append((session, record))
        return out


def _proxy_names(session: object, names: dict[int, list[str]]) -> list[str]:
    """Names of the AsyncSession that wraps ``session``, if the program made one (asyncio is
    looked up only when the program imported it)."""
    module = sys.modules.get("sqlalchemy.ext.asyncio.session")
    if module is None:
        return []
    proxy = module.AsyncSession._retrieve_proxy_for_target(session, regenerate=False)
    return names.get(id(proxy), []) if proxy is not None else []


def _variables(scopes: list[Mapping[str, object]]) -> dict[str, str]:
    """The program's plain values (numbers, strings, booleans, None) as short reprs, like a
    debugger's frame view. Only exact built-in types are shown: their repr runs no code of the
    program's, so looking cannot change anything."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    for scope in scopes:
        for name, value in list(scope.items()):
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if type(value) not in _PLAIN:
                continue
            if len(found) >= _MAX_VARIABLES:
                break
            if type(value) is str and len(value) > _MAX_REPR:
                text = repr(value[:_MAX_REPR]) + "..."  # cut before repr: a huge string stays cheap
            elif type(value) is int and value.bit_length() > 128:
                # repr of a huge int is slow, and above 4,300 digits it raises ValueError
                text = "<a very large int>"
            else:
                text = repr(value)
            if type(value) is str:
                text = _TEMP_NAME.sub("tmp…", text)
            found[name] = text if len(text) <= _MAX_REPR + 5 else text[:_MAX_REPR] + "..."
    return found


def _names(scopes: list[Mapping[str, Any]]) -> dict[int, list[str]]:
    """Map id(value) -> the variable names (and ``name[i]`` items of plain containers) that hold it."""
    found: dict[int, list[str]] = {}
    seen: set[str] = set()
    for scope in scopes:
        for name, value in list(scope.items()):
            if name.startswith("__") or name in seen:
                continue
            seen.add(name)
            found.setdefault(id(value), []).append(name)
            if type(value) in (list, tuple):
                for index, item in enumerate(value[:_MAX_NAMES_PER_CONTAINER]):
                    found.setdefault(id(item), []).append(f"{name}[{index}]")
            elif type(value) is dict:
                for key, item in list(value.items())[:_MAX_NAMES_PER_CONTAINER]:
                    if isinstance(key, str | int):
                        found.setdefault(id(item), []).append(f"{name}[{key!r}]")
    return found
