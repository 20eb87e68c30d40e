"""Assemble steps: the events a step caused, then a snapshot of the world once it is over."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._record.objects import ObjectRegistry
from .._record.recorder import Event
from .._transcript.schema import DATABASE_EVENTS, LIFECYCLE_EVENTS
from .options import TraceOptions
from .scratch import ScratchDatabases

if TYPE_CHECKING:
    from .._record.recorder import OrmRecorder

__all__ = ["StepBuilder", "closing_a_step"]

_MAX_NAMES_PER_CONTAINER = 100


_closing = 0
"""How many steps are being closed right now (0 or 1: one run per process at a time)."""


def closing_a_step() -> bool:
    """True while the tracer, not the program, runs: a step's events are being put in order and
    its snapshot taken. A limit that fires then is raised a moment later (see the sandbox's
    worker), so that it interrupts the program and not the transcript."""
    return _closing > 0


class StepBuilder:
    """Collects events into the current step and closes steps with a snapshot."""

    def __init__(
        self,
        registry: ObjectRegistry,
        databases: ScratchDatabases,
        options: TraceOptions,
        on_step: Callable[[dict[str, Any]], None] | None,
        on_internal_error: Callable[[BaseException], None],
    ) -> None:
        self.registry = registry
        self._on_internal_error = on_internal_error
        self.databases = databases
        self.options = options
        self.on_step = on_step
        self.session: OrmRecorder | None = None
        self.finished: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.truncated: dict[str, Any] = {}
        self._early: list[Event] = []
        self._events = 0
        self._output = 0
        self._tables: dict[str, Any] | None = None
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
            "tables": {},
            "error": None,
        }
        if after:
            self.current["after"] = after
        if exercise is not None:
            self.current["exercise"] = exercise
        self._early = []

    def add(self, record: Event) -> None:
        if record["kind"] in DATABASE_EVENTS:  # only then is the database read again
            self._database_touched = True
        if self._events >= self.options.max_events:
            self.truncated["events_dropped"] = self.truncated.get("events_dropped", 0) + 1
            return
        self._events += 1
        # _open_events() written out: this runs for every event.
        (self.current["events"] if self.current else self._early).append(record)

    def _open_events(self) -> list[Event]:
        """Where an event goes now: the current step, or the next one if none is open."""
        return self.current["events"] if self.current else self._early

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
        events = self._open_events()
        last = events[-1] if events else None
        if last and last["kind"] == "output" and last["line"] == line and last.get("stream") == marker:
            last["text"] += text
            return
        record: Event = {"kind": "output", "line": line, "text": text}
        if marker is not None:
            record["stream"] = marker
        self.add(record)

    def fail(self, error: dict[str, Any]) -> None:
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

    def finish(self, namespace: Mapping[str, Any] | None, local: Mapping[str, Any] | None = None) -> None:
        step = self.current
        if step is None:
            return
        global _closing
        _closing += 1
        try:
            self.current = None
            step["events"] = self._canonical(step["events"])
            if self.options.snapshots:
                try:
                    self._snapshot(step, [scope for scope in (local, namespace) if scope is not None])
                except Exception as exc:  # noqa: BLE001 - a snapshot must never end the program's run
                    self._on_internal_error(exc)
            self.finished.append(step)
            if self.on_step is not None:
                self.on_step(step)
        finally:
            _closing -= 1

    def _canonical(self, events: list[Event]) -> list[Event]:
        """Sort each run of lifecycle events of one line by object, since SQLAlchemy fires those
        of one flush in set order, which changes from run to run."""
        out: list[Event] = []
        run: list[Event] = []
        for record in [*events, {"kind": "", "line": None}]:
            if record["kind"] in LIFECYCLE_EVENTS and (not run or run[0]["line"] == record["line"]):
                run.append(record)
                continue
            if run:
                out.extend(sorted(run, key=lambda r: self.registry.order(r["object"])))
                run = []
            if record["kind"] in LIFECYCLE_EVENTS:
                run.append(record)
            elif record["kind"]:
                out.append(record)
        return out

    def _snapshot(self, step: dict[str, Any], scopes: list[Mapping[str, Any]]) -> None:
        names = _names(scopes)
        step["objects"] = [
            self.registry.snapshot(obj, label, names.get(id(obj), [])) for label, obj in self.registry.alive()
        ]
        session = self.session.last_session() if self.session is not None else None
        if session is not None:
            labels = self.registry.labels_of
            step["session"] = {
                "new": labels(session.new),
                "dirty": labels(session.dirty),
                "deleted": labels(session.deleted),
                "identity_map": labels(session.identity_map.values()),
            }
        if self._database_touched or self._tables is None:
            self._tables = self.databases.tables()
            self._database_touched = False
        step["tables"] = self._tables


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
