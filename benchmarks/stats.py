"""Figures, their goals, and the small statistics and process facts the benchmark needs."""

from __future__ import annotations

import datetime
import enum
import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Figure",
    "Goal",
    "SPECS",
    "Spec",
    "Verdict",
    "children_by_parent",
    "load_average",
    "machine",
    "median",
    "no_app",
    "percentile",
    "rss_mib",
    "unavailable",
]


class Verdict(enum.Enum):
    """How a figure compares with its goal."""

    PASS = "pass"
    """The value meets the goal."""
    MISS = "miss"
    """The value misses the goal."""
    INFO = "-"
    """The figure has no goal: it is reported for context."""
    NONE = "n/a"
    """The figure could not be measured (its reason says why)."""


@dataclass(frozen=True)
class Goal:
    """``value <= limit`` (or ``>=``), printed as e.g. "<= 1.3"."""

    op: str
    limit: float

    def met_by(self, value: float) -> bool:
        return value <= self.limit if self.op == "<=" else value >= self.limit

    def __str__(self) -> str:
        return f"{self.op} {self.limit:g}"


@dataclass(frozen=True)
class Spec:
    """What a figure is: its unit, its goal (None: reported for context) and one line about it."""

    unit: str
    goal: Goal | None
    about: str


_RATIO = "x"
SPECS: dict[str, Spec] = {
    "trace_overhead": Spec(_RATIO, Goal("<=", 1.3), "traced / plain run of the reference workload"),
    "echo_overhead": Spec(_RATIO, None, "echo=True into a null log handler / plain run"),
    "trace_minus_echo": Spec(_RATIO, Goal("<=", 0), "trace_overhead - echo_overhead"),
    "trace_overhead_cpu": Spec(_RATIO, None, "trace_overhead in CPU time (less noisy)"),
    "echo_overhead_cpu": Spec(_RATIO, None, "echo_overhead in CPU time"),
    "trace_overhead_gc_paused": Spec(
        _RATIO, None, "traced / plain run with the cyclic GC paused, as in a trace"
    ),
    "capture_overhead": Spec(_RATIO, None, "capture(engine) around a workload / bare workload"),
    "cli_overhead": Spec(
        _RATIO, Goal("<=", 1.3), "python -m sqlecho trace lesson 04 / python lesson 04, median of pairs"
    ),
    "cli_trace_ms_p50": Spec("ms", None, "python -m sqlecho trace lessons/04_expire_on_commit.py, wall time"),
    "cli_plain_ms_p50": Spec("ms", None, "python lessons/04_expire_on_commit.py, wall time"),
    "first_trace_ms_p50": Spec("ms", Goal("<=", 60), "small lesson, request to transcript, warm worker"),
    "first_trace_ms_p95": Spec("ms", Goal("<=", 150), "the same, 95th percentile"),
    "postgres_first_trace_ms_p50": Spec(
        "ms", Goal("<=", 100), "small lesson on PostgreSQL, warm worker and a database made ahead"
    ),
    "postgres_first_trace_ms_p95": Spec("ms", None, "the same, 95th percentile"),
    "postgres_database_ms_p50": Spec("ms", None, "taking a database made ahead (its part of the above)"),
    "cold_trace_ms": Spec("ms", None, "the same with no warm worker (a worker is started)"),
    "worker_rss_mib": Spec("MiB", None, "memory (PSS) of one warm worker, sandbox included"),
    "parent_rss_mib": Spec("MiB", None, "resident memory of the process holding the pool"),
    "step_render_ms_p50": Spec("ms", None, "app rerun for the next step of a traced lesson (AppTest)"),
    "step_render_ms_p95": Spec("ms", Goal("<=", 25), "the same, 95th percentile"),
    "step_render_growth": Spec(_RATIO, Goal("<=", 1.5), "step_render p50, long lesson / short lesson"),
    "export_page_kib_max": Spec("KiB", Goal("<=", 1024), "largest exported lesson page, --switches"),
    "export_page_ms_p50": Spec("ms", Goal("<=", 300), "first paint of that page in Chromium, from file://"),
    "export_page_ms_p95": Spec("ms", None, "the same, 95th percentile"),
    "steps_scaling": Spec(_RATIO, Goal("<=", 12), "trace time, cell lesson with 10x the statements / 1x"),
    "steps_scaling_lines": Spec(_RATIO, Goal("<=", 12), "the same for a plain script stepped by line"),
    "sessions": Spec("", None, "concurrent app sessions, each stepping through a lesson"),
    "sessions_correct": Spec("", None, "sessions whose every step showed 'Step N of M' (goal: all)"),
    "session_step_ms_p50": Spec("ms", None, "step latency while all sessions step, median"),
    "session_step_ms_p95": Spec("ms", Goal("<=", 250), "the same, 95th percentile"),
    "session_open_ms_p95": Spec(
        "ms", Goal("<=", 2000), "a session's first page, all opening at once (lessons traced at server start)"
    ),
    "session_step_alone_ms_p50": Spec("ms", None, "step latency of one session alone on the server"),
    "streamlit_floor_ms_p50": Spec(
        "ms", None, "the same for a one-line Streamlit page: the framework's floor"
    ),
    "server_workers_while_stepping": Spec(
        "", Goal("<=", 0), "worker processes the server started while sessions stepped (re-traces)"
    ),
    "server_cpu_ms_per_step": Spec("ms", None, "server CPU time in the stepping phase / steps"),
    "server_rss_mib_per_session": Spec("MiB", None, "server RSS growth / sessions"),
    "edit_view_ms_p50": Spec(
        "ms", None, "an edited step's Run to both runs side by side, warm server, sandbox (median)"
    ),
    "edit_view_ms_p95": Spec("ms", Goal("<=", 1000), "the same, 95th percentile"),
    "reader_under_burners_ms_p95": Spec(
        "ms", Goal("<=", 250), "a lesson reader's step p95 while 20 pasted CPU burners run (Your code)"
    ),
    "reader_quiet_ms_p95": Spec("ms", None, "the same reader's step p95 alone, just before"),
    "readers_at_250ms_p95": Spec(
        "", Goal(">=", 200), "readers (2-4 s pauses, all lessons) one server holds with step p95 <= 250 ms"
    ),
    "deploy_readers_at_250ms_p95": Spec(
        "",
        Goal(">=", 300),
        "readers deploy/serve.py and nginx (default replicas) hold with step p95 <= 250 ms",
    ),
}


@dataclass
class Figure:
    """One measured number (None when it could not be measured: ``reason`` says why)."""

    name: str
    value: float | None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Raw measurements behind the value (samples, sizes), for the JSON output."""
    goal_override: Goal | None = None
    """A goal known only at run time (the number of sessions that must all be correct)."""

    @property
    def spec(self) -> Spec:
        return SPECS[self.name]

    @property
    def goal(self) -> Goal | None:
        return self.goal_override or self.spec.goal

    @property
    def verdict(self) -> Verdict:
        if self.value is None:
            return Verdict.NONE
        if self.goal is None:
            return Verdict.INFO
        return Verdict.PASS if self.goal.met_by(self.value) else Verdict.MISS

    def as_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "value": self.value,
            "unit": self.spec.unit,
            "goal": str(self.goal) if self.goal else None,
            "verdict": self.verdict.value,
            "about": self.spec.about,
        }
        if self.reason:
            record["reason"] = self.reason
        if self.details:
            record["details"] = self.details
        return record


def unavailable(names: list[str], reason: str) -> list[Figure]:
    """Figures that could not be measured, all for the same reason."""
    return [Figure(name, None, reason=reason) for name in names]


def no_app(app_file: Path) -> str:
    """The reason given for app figures when there is no app to measure."""
    return f"no app at {app_file} (name the app's app.py with --app)"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile by linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rss_mib(pid: int | None = None) -> float | None:
    """Resident memory of a process (default: this one) in MiB, from /proc; None where unreadable."""
    try:
        with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def children_by_parent() -> dict[int, list[int]]:
    """Every process's children, from /proc (empty where there is no /proc)."""
    found: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                # The command name may hold spaces and parentheses: the fields after the last ")".
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        found.setdefault(ppid, []).append(int(entry))
    return found


def _memory_gib() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work on the machine moves every timing."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": len(os.sched_getaffinity(0)),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "sqlalchemy": _version("sqlalchemy"),
        "sqlmodel": _version("sqlmodel"),
        "streamlit": _version("streamlit"),
        "load": load_average(),
    }
