"""The batched writer: students' records go to the class database in the background.

A page never waits for the database: :meth:`Recorder.add` puts a record on a queue and returns,
and one thread per server process writes what has gathered, every fraction of a second, in one
transaction (a class of 200 answering at once is a few small writes a second, not hundreds).
When the database does not answer, records wait (up to :data:`MAX_WAITING`, then the oldest are
dropped), the thread tries again every few seconds, and :attr:`Recorder.failing` tells the pages
to say that class results are not being saved. The student's own view never depends on it.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
from collections import deque

from .store import ClassStore, Membership, Record, StoreUnavailable

__all__ = ["MAX_WAITING", "Recorder", "recorder_for", "store_for"]

_log = logging.getLogger(__name__)

MAX_WAITING = 20_000
"""Records kept while the database is down; beyond this the oldest are dropped."""
FLUSH_S = 0.25
RETRY_S = 3.0
PURGE_S = 600.0
"""How often expired classes are deleted (besides at every new class)."""


class Recorder:
    """A queue of records and the thread that writes them (started on the first record)."""

    def __init__(self, store: ClassStore, *, flush_s: float = FLUSH_S, retry_s: float = RETRY_S) -> None:
        self.store = store
        self.flush_s = flush_s
        self.retry_s = retry_s
        self._waiting: deque[tuple[Membership, Record]] = deque(maxlen=MAX_WAITING)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.failing: str | None = None
        """Why the last write failed (None while writes succeed)."""
        self.written = 0
        self.dropped = 0
        self._purged = 0.0

    def add(self, member: Membership, record: Record) -> None:
        """Queue one record of ``member`` (returns at once)."""
        with self._lock:
            if len(self._waiting) == self._waiting.maxlen:
                self.dropped += 1
            self._waiting.append((member, record))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sqlecho-class-writer", daemon=True)
                self._thread.start()

    def flush(self) -> bool:
        """Write everything waiting now; True when the database took it (also called by tests)."""
        with self._lock:
            batch = list(self._waiting)
            self._waiting.clear()
        if not batch:
            return self.failing is None
        try:
            self.written += self.store.write(batch)
            if time.monotonic() - self._purged > PURGE_S:
                self._purged = time.monotonic()
                self.store.purge_expired()
        except StoreUnavailable as exc:
            with self._lock:  # back to the front of the queue, in order, for the next try
                self._waiting.extendleft(reversed(batch[-(MAX_WAITING - len(self._waiting)) :]))
            if self.failing is None:
                _log.warning("class records are not being saved: %s", exc)
            self.failing = str(exc)
            return False
        self.failing = None
        return True

    def _run(self) -> None:
        while True:
            time.sleep(self.flush_s if self.failing is None else self.retry_s)
            try:
                self.flush()
            except Exception:  # never let the writer die: the next record would wait forever
                _log.exception("the class writer failed")
            with self._lock:
                if not self._waiting:
                    self._thread = None
                    return


@functools.cache
def store_for(url: str) -> ClassStore:
    """The server process's store for the database at ``url`` (one engine and pool per URL)."""
    return ClassStore.from_url(url)


@functools.cache
def recorder_for(url: str) -> Recorder:
    """The server process's writer for the database at ``url``; what it still holds when the
    server stops (a record of the last half second) is written before the process ends."""
    recorder = Recorder(store_for(url))
    atexit.register(recorder.flush)
    return recorder
