"""Server-wide admission for pasted programs: how many run at once, how much memory they may
hold together, and a first-come, first-served queue for the others.

Each run is bounded on its own (time, memory, processes, a CPU quota: see :mod:`.cgroup`), but a
class pasting at once multiplies that: twelve runs held 5 GB and both cores. The server admits a
run only while fewer than ``runs`` are running and the memory limits of the admitted runs,
summed, leave room for its own; the others wait in order of arrival (a run that does not fit
holds up the ones behind it, so a big run is never starved by small ones). A waiting run knows
its place, can leave the queue at any time, and a full queue refuses newcomers at once with a
message rather than letting them wait without end.

Only pasted programs come through here: the lessons are traced once per server into a shared
cache by the warm pool, and a reader stepping through them runs nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "Admission",
    "AdmissionLimits",
    "AdmissionRefused",
    "Ticket",
    "machine_memory",
    "place_message",
]

MiB = 1024 * 1024
_SIZES = {"k": 1024, "m": MiB, "g": 1024 * MiB, "t": 1024 * 1024 * MiB}
DEFAULT_QUEUE = 50


class AdmissionRefused(Exception):
    """A run cannot even wait for its turn (the queue is full, or it could never fit); the
    message says so in a sentence for the reader."""


@dataclass(frozen=True)
class AdmissionLimits:
    """What all admitted runs may hold together, and how many may wait."""

    runs: int
    """Runs at once."""
    memory: int
    """Bytes: the sum of the admitted runs' memory limits stays within it."""
    queue: int = DEFAULT_QUEUE
    """Runs that may wait; one more is refused."""

    @classmethod
    def defaults(cls, cpus: int, memory: int) -> AdmissionLimits:
        """For a machine of ``cpus`` cores and ``memory`` bytes: one run per core (each within its
        quota of one core, at a low weight that lets the server's readers go first) and half of
        the memory."""
        return cls(runs=max(1, cpus), memory=max(256 * MiB, memory // 2))

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, cpus: int, memory: int
    ) -> tuple[AdmissionLimits, list[str]]:
        """The defaults for this machine, changed by ``SQLECHO_RUNS`` (runs at once),
        ``SQLECHO_RUNS_MEMORY`` (bytes, or with a unit: ``2G``, ``1500M``) and
        ``SQLECHO_RUN_QUEUE`` (runs that may wait; ``0``: none wait, a busy server refuses);
        and a one-line message for each value that was refused (its default is used)."""
        found = cls.defaults(cpus, memory)
        problems: list[str] = []
        values = {"runs": found.runs, "memory": found.memory, "queue": found.queue}
        for variable, name, least, unit in (
            ("SQLECHO_RUNS", "runs", 1, "a whole number of runs, 1 or more"),
            ("SQLECHO_RUNS_MEMORY", "memory", 64 * MiB, "an amount of memory of 64M or more (like 2G)"),
            ("SQLECHO_RUN_QUEUE", "queue", 0, "a whole number of runs, 0 or more"),
        ):
            text = environ.get(variable, "").strip()
            if not text:
                continue
            value = _size(text) if name == "memory" else _whole(text)
            if value is None or value < least:
                shown = f"{values[name] // MiB}M" if name == "memory" else str(values[name])
                problems.append(f"{variable}={text!r} is not {unit}; using {shown}.")
                continue
            values[name] = value
        return cls(**values), problems


def _whole(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _size(text: str) -> int | None:
    text = text.lower().removesuffix("b").removesuffix("i")
    scale = 1
    if text and text[-1] in _SIZES:
        scale, text = _SIZES[text[-1]], text[:-1]
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value * scale) if 0 <= value < 1e15 else None  # also refuses nan and inf


def machine_memory() -> int:
    """Bytes of memory of this machine (0 where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _busy(waiting: int) -> str:
    if not waiting:
        return "The server is busy: every place for a run is taken. Try again in a minute."
    runs = "1 run is" if waiting == 1 else f"{waiting} runs are"
    return f"The server is busy: {runs} waiting already, as many as it lets wait. Try again in a minute."


def place_message(ahead: int) -> str:
    """What a waiting reader is told about their place."""
    if ahead <= 0:
        return "Waiting for a free place: yours is next."
    runs = "1 run" if ahead == 1 else f"{ahead} runs"
    return f"Waiting for a free place: {runs} ahead of yours."


class Ticket:
    """One run's place: waiting, then admitted, then gone (:meth:`leave`)."""

    def __init__(self, admission: Admission, memory: int, arrived: float) -> None:
        self._admission = admission
        self.memory = memory
        self.arrived = arrived
        """When it joined (the admission's clock)."""
        self.admitted_at: float | None = None
        self.left = False

    @property
    def waiting(self) -> bool:
        """In the queue: neither admitted yet nor gone."""
        return self.admitted_at is None and not self.left

    @property
    def admitted(self) -> bool:
        """It may run now (and has not left)."""
        return self.admitted_at is not None and not self.left

    def ahead(self) -> int:
        """Runs waiting before this one (0 when it is next, or admitted)."""
        return self._admission._ahead(self)

    def waited(self) -> float:
        """Seconds it waited for its turn (so far, while it still waits)."""
        end = self.admitted_at if self.admitted_at is not None else self._admission.clock()
        return max(0.0, end - self.arrived)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until admitted (True) or until it left the queue or ``timeout`` passed (False)."""
        return self._admission._wait(self, timeout)

    def leave(self) -> None:
        """Give the place up, waiting or running (idempotent): the next in line may start."""
        self._admission._leave(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.leave()


class Admission:
    """The server's bound on runs at once and on their memory, with a first-come queue.

    Args:
        limits: what all runs may hold together.
        clock: seconds, for how long a run waited (``time.monotonic``; tests pass their own).
    """

    def __init__(self, limits: AdmissionLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._changed = threading.Condition()
        self._queue: deque[Ticket] = deque()
        self._running: set[Ticket] = set()
        self._memory = 0

    @property
    def running(self) -> int:
        with self._changed:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._queue)

    @property
    def memory(self) -> int:
        """Bytes of the admitted runs' memory limits, summed."""
        with self._changed:
            return self._memory

    def enter(self, memory: int) -> Ticket:
        """A place for a run that may use ``memory`` bytes: admitted at once when it fits and
        nobody waits, else at the end of the queue.

        Raises:
            AdmissionRefused: the queue is full, or the run alone needs more than all may hold.
        """
        if memory > self.limits.memory:
            raise AdmissionRefused(
                f"This run may use {memory // MiB} MiB of memory, more than this server gives all "
                f"runs together ({self.limits.memory // MiB} MiB); ask for less."
            )
        with self._changed:
            ticket = Ticket(self, memory, self.clock())
            if len(self._queue) >= self.limits.queue and not self._fits(ticket):
                raise AdmissionRefused(_busy(len(self._queue)))
            self._queue.append(ticket)
            self._admit()
            return ticket

    def _fits(self, ticket: Ticket) -> bool:
        return (
            not self._queue
            and len(self._running) < self.limits.runs
            and self._memory + ticket.memory <= self.limits.memory
        )

    def _admit(self) -> None:
        """Admit from the head of the queue while the head fits (in order: nobody overtakes)."""
        admitted = False
        while self._queue:
            head = self._queue[0]
            if len(self._running) >= self.limits.runs or self._memory + head.memory > self.limits.memory:
                break
            self._queue.popleft()
            self._running.add(head)
            self._memory += head.memory
            head.admitted_at = self.clock()
            admitted = True
        if admitted:
            self._changed.notify_all()

    def _ahead(self, ticket: Ticket) -> int:
        with self._changed:
            try:
                return self._queue.index(ticket)
            except ValueError:
                return 0

    def _wait(self, ticket: Ticket, timeout: float | None) -> bool:
        with self._changed:
            self._changed.wait_for(lambda: ticket.left or ticket.admitted_at is not None, timeout)
            return ticket.admitted

    def _leave(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket.left:
                return
            ticket.left = True
            if ticket in self._running:
                self._running.remove(ticket)
                self._memory -= ticket.memory
            elif ticket in self._queue:
                self._queue.remove(ticket)
            self._admit()
            self._changed.notify_all()  # its own waiter, which returns False
