"""Traces for the app: run each program once, however many readers open it.

A class of students opening the same lesson at the same moment costs one trace: results are
kept by program text and options, and a trace already running for the same key is waited for
rather than started again. What the page needs besides the transcript (statements per line,
attribute order, comparisons of two runs) is computed once per trace and kept with it.

What is kept is capped by memory, not by count: a pasted program decides how big its transcript
is (up to the runner's limits), so each trace is weighed (:func:`transcript_bytes`), the least
recently used go first beyond the budget, and one that would take more than a quarter of the
budget is returned but not kept.

Lessons also outlive the process: with a :class:`~sqlecho._app.store.TranscriptStore`, a trace
is first looked for on disk (where a restart or another replica left it) and a new one is kept
there, and :meth:`TraceCache.warm` traces a list of programs in the background, one at a time,
so that the first readers of a class find them ready.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

from .._render.diff import TranscriptDiff, diff_transcripts
from .._render.step import StepHTML, Traced, draw_step
from .._sandbox.limits import Limits
from .._sandbox.pool import WorkerPool
from .._sandbox.runner import RunCancelled
from .._trace.options import TraceOptions
from .._transcript.derive import attribute_order, statement_counts
from .config import DEFAULT_CACHE_MB
from .memo import Memo
from .store import TranscriptStore, source_digest

__all__ = [
    "TraceCache",
    "TraceFailed",
    "TraceRequest",
    "SandboxRunner",
    "Traced",
    "keep_drawn_steps",
    "render_step",
    "transcript_bytes",
]

_log = logging.getLogger(__name__)


class SandboxRunner(Protocol):
    """A runner as the app calls it: ``run_sandboxed``, or the in-process runner, which takes
    the same keywords and ignores them (:class:`sqlecho._trace.options.Runner` and its notes)."""

    def __call__(
        self,
        source: str,
        path: Path,
        options: TraceOptions,
        name: str,
        *,
        limits: Limits | None = None,
        pool: WorkerPool | None = None,
        private: bool = False,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]: ...


TraceRequest = tuple[str, Path, TraceOptions, str]
"""What :meth:`TraceCache.trace` needs for a lesson: source, path, options, name."""


class TraceFailed(Exception):
    """The runner itself failed (not the program: a program's errors are in its transcript)."""


def transcript_bytes(value: object) -> int:
    """About how many bytes of memory a decoded JSON value (a transcript) takes in this process.

    The sizes of CPython's objects, summed over one walk: within ~10% of tracemalloc for both
    lessons and transcripts of many tiny events, which take ~8 times their JSON's length (that
    is why the JSON's length is not the measure). Dict keys are not counted: they are the same
    few interned names in every event.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            total += 64 + 40 * len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            total += 56 + 8 * len(item)
            stack.extend(item)
        elif isinstance(item, str):
            total += 49 + len(item)
        else:
            total += 32
    return total


def _key(source: str, path: Path, options: TraceOptions, name: str, limits: Limits | None) -> Hashable:
    # By content, not by file: an edited lesson is a new program, traced again.
    return (source_digest(source), str(path), name, options, repr(limits))


class TraceCache:
    """Transcripts by (program text, options, limits), least recently used dropped first.

    Args:
        runner: runs a program (sandboxed or in-process).
        maxsize: transcripts kept, at most.
        max_bytes: memory for the kept transcripts (:func:`transcript_bytes`); one bigger than a
            quarter of it is not kept.
        pool: passed to the runner (a pool of warm worker processes, when it has one).
        store: transcripts on disk, read before a program is traced and written after (only
            runs with the default limits that ended normally; never private programs).
    """

    def __init__(
        self,
        runner: SandboxRunner,
        *,
        maxsize: int = 48,
        max_bytes: int = 64 * 1024**2,
        pool: WorkerPool | None = None,
        store: TranscriptStore | None = None,
    ) -> None:
        self.runner = runner
        self.pool = pool
        self.store = store
        self.stored = 0
        """Traces read from the store rather than run."""
        self.warmed = threading.Event()
        """Set when the last :meth:`warm` has gone through its list."""
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.bytes = 0
        """The weight of the kept transcripts."""
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, Traced] = OrderedDict()
        self._running: dict[Hashable, Future[Traced]] = {}
        self._diffs: Memo[TranscriptDiff] = Memo(maxsize)

    def peek(
        self, source: str, path: Path, options: TraceOptions, name: str, limits: Limits | None = None
    ) -> Traced | None:
        """The cached trace, or None (then :meth:`trace` runs the program: worth a spinner)."""
        with self._lock:
            return self._done.get(_key(source, path, options, name, limits))

    def trace(
        self,
        source: str,
        path: Path,
        options: TraceOptions,
        name: str,
        limits: Limits | None = None,
        *,
        private: bool = False,
        cancel: threading.Event | None = None,
    ) -> Traced:
        """The transcript of ``source`` run as ``path`` with ``options``: cached, or traced now.
        ``private``: the program's folder exists only inside the sandbox (pasted code).
        ``cancel``: set from another thread to stop the run (when this call starts it); a
        cancelled run is not kept.

        Raises:
            TraceFailed: the runner could not produce a transcript.
            RunCancelled: ``cancel`` was set before the run ended.
        """
        key = _key(source, path, options, name, limits)
        with self._lock:
            if key in self._done:
                self.hits += 1
                self._done.move_to_end(key)
                return self._done[key]
            future = self._running.get(key)
            owner = future is None
            if future is None:
                future = self._running[key] = Future()
                self.misses += 1
            else:
                self.hits += 1
        if not owner:
            return future.result()
        try:
            transcript = self._run(source, path, options, name, limits, private, cancel)
            traced = Traced(key, source, transcript, size=transcript_bytes(transcript))
            try:
                traced.counts = statement_counts(transcript["steps"])
                traced.order = attribute_order(transcript["steps"])
            except Exception:  # a malformed transcript: the page says so when it draws it
                pass
        except RunCancelled:
            with self._lock:
                del self._running[key]
            # Whoever waits for the same program did not cancel it: for them it is a failed run.
            future.set_exception(TraceFailed("the run was cancelled by another reader; run it again"))
            raise
        except Exception as exc:
            failure = TraceFailed(f"{type(exc).__name__}: {exc}")
            with self._lock:
                del self._running[key]
            future.set_exception(failure)
            raise failure from exc
        with self._lock:
            del self._running[key]
            if traced.size <= self.max_bytes // 4:  # else: shown to whoever waits, never kept
                self._done[key] = traced
                self.bytes += traced.size
            while self._done and (len(self._done) > self.maxsize or self.bytes > self.max_bytes):
                self.bytes -= self._done.popitem(last=False)[1].size
        future.set_result(traced)
        return traced

    def _run(
        self,
        source: str,
        path: Path,
        options: TraceOptions,
        name: str,
        limits: Limits | None,
        private: bool,
        cancel: threading.Event | None = None,
    ) -> dict[str, Any]:
        """The transcript from the store if it has it, else from the runner (then stored)."""
        store = self.store if limits is None and not private else None
        if store is not None and (transcript := store.load(source, path, options, name)) is not None:
            self.stored += 1
            return transcript
        transcript = self.runner(
            source, path, options, name, limits=limits, pool=self.pool, private=private, cancel=cancel
        )
        # Only a run that ended as the program meant: a limit hit on a busy machine or a worker
        # that crashed says nothing about the next run.
        if (
            store is not None
            and transcript.get("status") == "ok"
            and not {"internal_errors", "tampered"} & transcript.keys()
        ):
            store.save(source, path, options, name, transcript)
        return transcript

    def warm(
        self, requests: Iterable[TraceRequest], then: Callable[[], None] | None = None
    ) -> threading.Thread:
        """Trace ``requests`` in a background thread, one after the other, in their order, then
        call ``then`` (in that thread).

        A reader who asks for one of them meanwhile waits only for that one: if it is being
        traced they share the run, if not their own request starts it at once. Failures are
        logged; the reader who asks again sees them.
        """
        self.warmed.clear()

        def run() -> None:
            try:
                for request in requests:
                    try:
                        self.trace(*request)
                    except TraceFailed as exc:
                        _log.warning("warming %s failed: %s", request[3], exc)
                if then is not None:
                    then()
            finally:
                self.warmed.set()

        thread = threading.Thread(target=run, name="sqlecho-warm", daemon=True)
        thread.start()
        return thread

    def diff(self, a: Traced, b: Traced) -> TranscriptDiff:
        """The step-by-step comparison of two traces, computed once per pair."""
        return self._diffs.get((a.key, b.key), lambda: diff_transcripts(a.transcript, b.transcript))


_RENDERED: OrderedDict[Hashable, StepHTML] = OrderedDict()
_RENDERED_MAX = 512
# By weight too: a step of a pasted program can draw to megabytes of HTML. A quarter of
# SQLECHO_CACHE_MB (the trace caches have the rest; keep_drawn_steps sets it from the settings);
# a step bigger than an eighth of it is redrawn.
_RENDERED_BYTES = DEFAULT_CACHE_MB * 1024**2 // 4
_RENDERED_LOCK = threading.Lock()
_rendered_bytes = 0


def keep_drawn_steps(max_bytes: int) -> None:
    """Keep drawn steps up to ``max_bytes`` of HTML (the server's share of ``SQLECHO_CACHE_MB``)."""
    global _RENDERED_BYTES
    _RENDERED_BYTES = max_bytes


def _weight(blocks: StepHTML) -> int:
    # About a byte a character (the HTML is mostly ASCII), plus each string object.
    return sum(
        len(text) + 49 for text in (blocks.code, blocks.events, blocks.objects, blocks.database, blocks.whole)
    )


def render_step(
    traced: Traced, index: int, *, marks: tuple[int, ...] = (), heading: str = "What happened"
) -> StepHTML:
    """The HTML blocks of step ``index`` (0-based) of ``traced``, drawn once per trace and step.

    Every reader of a lesson sees the same HTML for the same step, so it is kept (by the trace's
    key) for the next reader, in every session of this server process.

    Args:
        traced: the transcript and what is derived from it.
        index: the step.
        marks: events to mark as "only in this run" (when two runs are compared).
        heading: the heading of the events block ("As written", "With autoflush=False", ...).
    """
    key = (traced.key, index, tuple(marks), heading)
    with _RENDERED_LOCK:
        if key in _RENDERED:
            _RENDERED.move_to_end(key)
            return _RENDERED[key]
    global _rendered_bytes
    blocks = draw_step(traced, index, marks=marks, heading=heading)
    weight = _weight(blocks)
    with _RENDERED_LOCK:
        if weight <= _RENDERED_BYTES // 8 and key not in _RENDERED:
            _RENDERED[key] = blocks
            _rendered_bytes += weight
        while _RENDERED and (len(_RENDERED) > _RENDERED_MAX or _rendered_bytes > _RENDERED_BYTES):
            _rendered_bytes -= _weight(_RENDERED.popitem(last=False)[1])
    return blocks
