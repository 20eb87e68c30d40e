"""Finish the transcript of a worker that did not finish it: killed, crashed, or over a limit.

The parent has every step the worker streamed before it died. What it adds is the error: on a
new step for the cell (or line) that was running, or on the last step when nothing better is
known, with the line taken from the crash report Python's faulthandler wrote to fd 2.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass, field
from typing import Any

from .._trace.cells import code_steps, has_cells, run_header
from .._trace.options import TraceOptions
from .._transcript.schema import error
from .limits import Limits, limit_error, limit_of_error

CHANNEL_LOST = 86
"""Exit status of a worker that could not write to its parent (the program closed the pipe)."""

__all__ = [
    "CHANNEL_LOST",
    "Ending",
    "crash_line",
    "error_for",
    "salvage_steps",
    "transcript_of",
]

_UNFINISHED = "The step did not finish: what it did after the previous step is not known."


@dataclass
class Ending:
    """What the parent saw of a worker that sent no transcript."""

    started: bool = False
    """The worker had received the job."""
    reason: str | None = None
    """Why the parent stopped it: "wall_time", "output", "startup", or None (it ended)."""
    returncode: int | None = None
    confined: bool = False
    """Started in bubblewrap, which reports a death by signal N as exit status 128 + N."""
    failed: dict[str, Any] | None = None
    """The worker's own report of an error outside the program."""
    notices: list[str] = field(default_factory=list)
    """Limits the worker said had fired."""
    stderr: str = ""
    elapsed: float = 0.0
    reported: bool = False
    """``returncode`` came from the supervisor's exit report (exact: no 128 + N guessing)."""
    invalid: str | None = None
    """Why the parent stopped reading: a message that is no part of a valid transcript."""
    out_of_memory: bool = False
    """The run's control group ran out of memory (the kernel killed one of its processes)."""


def transcript_of(
    source: str,
    name: str,
    options: TraceOptions,
    status: str,
    steps: list[dict[str, Any]],
    elapsed: float,
) -> dict[str, Any]:
    """A transcript made by the parent, with the tracer's fields in the tracer's order."""
    transcript = run_header(name, source, options, status)
    transcript["steps"] = steps
    transcript["duration_ms"] = round(elapsed * 1000, 1)
    return transcript


def _signal_of(ending: Ending) -> int | None:
    code = ending.returncode
    if code is None:
        return None
    if code < 0:
        return -code
    if ending.confined and code > 128 and not ending.reported:
        return code - 128
    return None


def error_for(ending: Ending, limits: Limits, line: int | None) -> dict[str, Any] | None:
    """The error record that says why the worker stopped; None for ``os._exit(0)``."""
    failed = ending.failed or {}
    fired = ending.notices[-1] if ending.notices else None
    if ending.out_of_memory:
        return limit_error("memory", limits, line, whole_run=True)
    if ending.invalid:
        message = (
            f"The run was stopped: the tracer's channel carried a message that is no part of a "
            f"valid transcript ({ending.invalid}) The program may have written to that channel."
        )
        return error("SandboxError", message, line)
    if failed.get("limit") or ending.reason in ("wall_time", "output"):
        return limit_error(failed.get("limit") or str(ending.reason), limits, line)
    if ending.reason == "startup" or not ending.started:
        why = ending.stderr.strip().splitlines()[-1:] or ["it did not answer"]
        if failed.get("message"):
            why = [f"{failed.get('type')}: {failed['message']}"]
        message = f"The sandbox did not start: {why[0]}"
        return error("SandboxError", message, None)
    if failed:
        name = limit_of_error(failed, fired, spawned=False)
        if name is not None:
            return limit_error(name, limits, line)
        return error(str(failed.get("type")), str(failed.get("message")), line)
    number = _signal_of(ending)
    if fired is not None:
        return limit_error(fired, limits, line)
    if number == signal.SIGKILL and ending.elapsed >= limits.cpu_time:
        return limit_error("cpu_time", limits, line)  # RLIMIT_CPU's hard limit is SIGKILL
    if number is not None:
        name = signal.Signals(number).name if number in signal.valid_signals() else str(number)
        description = signal.strsignal(number) or name
        message = f"The program crashed: {name} ({description.lower()})."
        return error("ProgramCrashed", message, line)
    if ending.returncode == 0:
        return None  # like sys.exit(0): the program chose to end here
    if ending.returncode == CHANNEL_LOST:
        message = "The program closed the pipe that carries its steps: the steps after that are lost."
        return error("SandboxError", message, line)
    message = (
        f"The program ended its process directly (exit status {ending.returncode}), "
        "without finishing its steps."
    )
    return error("ProcessExited", message, line)


_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in ', re.MULTILINE)


def crash_line(stderr: str, filename: str) -> int | None:
    """The innermost line of ``filename`` in the last traceback faulthandler wrote."""
    last = stderr.rfind("most recent call first")
    for match in _FRAME.finditer(stderr, max(last, 0)):
        if match["file"] == filename:
            return int(match["line"])
    return None


def salvage_steps(
    steps: list[dict[str, Any]],
    source: str,
    error: dict[str, Any] | None,
    line: int | None,
    database: str = "sqlite",
) -> list[dict[str, Any]]:
    """``steps`` with ``error`` recorded where the program stopped (None: it exited, status 0);
    ``database``: the run's, whose cells the program runs (see :func:`~sqlecho._trace.cells.step_cells`)."""
    if steps and (steps[-1].get("error") or {}).get("limit") and (error or {}).get("limit"):
        return steps  # the worker recorded the limit itself before it went
    exit_event = {"kind": "exit", "line": None, "code": 0}
    after = steps[-1]["lines"][1] if steps else 0
    if has_cells(source):
        place = _next_cell(source, after, line, database)
    else:
        place = (None, "", [line, line]) if line is not None else None
    if place is None:
        if steps and steps[-1].get("error") is None:
            if error is None:
                steps[-1]["events"].append(exit_event)
            steps[-1]["error"] = error
            return steps
        place = (None, "", [line or after or 1, line or after or 1])
    title, narrative, lines = place
    previous = steps[-1] if steps else {}
    steps.append(
        {
            "index": len(steps),
            "title": title,
            "narrative": narrative,
            "lines": lines,
            "events": [] if error is not None else [exit_event],
            "objects": previous.get("objects", []),
            "session": previous.get("session"),
            "tables": previous.get("tables", {}),
            "error": error,
            "notes": [_UNFINISHED],
        }
    )
    return steps


def _next_cell(
    source: str, after: int, line: int | None, database: str
) -> tuple[str | None, str, list[int]] | None:
    """Title, narrative and lines of the code cell holding ``line``, else the one after line
    ``after``, as the tracer would have made its step."""
    for cell, narrative in code_steps(source, database):
        holds = line is not None and cell.first_line <= line <= cell.last_line
        if holds or (line is None and cell.first_line > after):
            return cell.title, narrative, [cell.first_line, cell.last_line]
    return None
