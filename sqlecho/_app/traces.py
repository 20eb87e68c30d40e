"""Traces for the app: run each program once, however many readers open it.

A class of students opening the same lesson at the same moment costs one trace: results are
kept by program text and options, and a trace already running for the same key is waited for
rather than started again. What the page needs besides the transcript (statements per line,
attribute order, comparisons of two runs) is computed once per trace and kept with it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from .._render.diff import TranscriptDiff, diff_transcripts
from .._render.step import StepHTML, Traced, draw_step
from .._trace.options import Runner, TraceOptions
from .._transcript.derive import attribute_order, statement_counts

__all__ = ["TraceCache", "TraceFailed", "Traced", "render_step"]


class TraceFailed(Exception):
    """The runner itself failed (not the program: a program's errors are in its transcript)."""


def _key(source: str, path: Path, options: TraceOptions, name: str, limits: Any) -> Hashable:
    # By content, not by file: an edited lesson is a new program, traced again.
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return (digest, str(path), name, options, repr(limits))


class TraceCache:
    """Transcripts by (program text, options, limits), least recently used dropped first.

    Args:
        runner: runs a program (sandboxed or in-process).
        maxsize: transcripts kept.
        pool: passed to the runner (a pool of warm worker processes, when it has one).
    """

    def __init__(self, runner: Runner, *, maxsize: int = 48, pool: Any = None) -> None:
        self.runner = runner
        self.pool = pool
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, Traced] = OrderedDict()
        self._running: dict[Hashable, Future[Traced]] = {}
        self._diffs: OrderedDict[tuple[Hashable, Hashable], TranscriptDiff] = OrderedDict()

    def peek(
        self, source: str, path: Path, options: TraceOptions, name: str, limits: Any = None
    ) -> Traced | None:
        """The cached trace, or None (then :meth:`trace` runs the program: worth a spinner)."""
        with self._lock:
            return self._done.get(_key(source, path, options, name, limits))

    def trace(self, source: str, path: Path, options: TraceOptions, name: str, limits: Any = None) -> Traced:
        """The transcript of ``source`` run as ``path`` with ``options``: cached, or traced now.

        Raises:
            TraceFailed: the runner could not produce a transcript.
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
            transcript = self.runner(source, path, options, name, limits=limits, pool=self.pool)
            traced = Traced(
                key,
                source,
                transcript,
                statement_counts(transcript["steps"]),
                attribute_order(transcript["steps"]),
            )
        except Exception as exc:
            failure = TraceFailed(f"{type(exc).__name__}: {exc}")
            with self._lock:
                del self._running[key]
            future.set_exception(failure)
            raise failure from exc
        with self._lock:
            del self._running[key]
            self._done[key] = traced
            while len(self._done) > self.maxsize:
                self._done.popitem(last=False)
        future.set_result(traced)
        return traced

    def diff(self, a: Traced, b: Traced) -> TranscriptDiff:
        """The step-by-step comparison of two traces, computed once per pair."""
        pair = (a.key, b.key)
        with self._lock:
            if pair in self._diffs:
                return self._diffs[pair]
        result = diff_transcripts(a.transcript, b.transcript)
        with self._lock:
            self._diffs[pair] = result
            while len(self._diffs) > self.maxsize:
                self._diffs.popitem(last=False)
        return result


_RENDERED: OrderedDict[Hashable, StepHTML] = OrderedDict()
_RENDERED_MAX = 512
_RENDERED_LOCK = threading.Lock()


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
    blocks = draw_step(traced, index, marks=marks, heading=heading)
    with _RENDERED_LOCK:
        _RENDERED[key] = blocks
        while len(_RENDERED) > _RENDERED_MAX:
            _RENDERED.popitem(last=False)
    return blocks
