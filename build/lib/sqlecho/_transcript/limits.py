"""The limits a sandboxed run can hit, as the transcript names them: one table for every reader.

A step stopped by a limit carries ``error.limit`` (a name below) and ``error.type`` (its
exception name). The sandbox writes the error's message from ``did``; the renderers explain it
to a learner with ``hint``. No SQLAlchemy, no sandbox: both sides import this.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LIMIT_KINDS", "LimitKind"]


@dataclass(frozen=True)
class LimitKind:
    """One limit, in the words each reader needs."""

    error_type: str
    """The exception a step records (``TimeLimitExceeded``...)."""
    did: str
    """What the program did, after "Stopped: the program ..."."""
    unit: str
    """How its value reads: "s", "bytes" or "" (a count)."""
    hint: str
    """For a learner: what probably happened."""
    whole_run: str = ""
    """What the program did when the run as a whole (its control group) hit it, if that can be."""


LIMIT_KINDS: dict[str, LimitKind] = {
    "wall_time": LimitKind(
        "TimeLimitExceeded",
        "ran longer than the time limit",
        "s",
        "The program ran longer than its time limit and was stopped: an endless loop, or a long sleep?",
    ),
    "cpu_time": LimitKind(
        "CpuTimeLimitExceeded",
        "used more CPU time than the limit",
        "s",
        "The program kept the processor busy longer than allowed: most often an endless loop.",
    ),
    "memory": LimitKind(
        "MemoryLimitExceeded",
        "needed more memory than the limit",
        "bytes",
        "The program needed more memory than allowed: a huge list, or a query that loads everything?",
        whole_run="and its children needed more memory than the limit",
    ),
    "output": LimitKind(
        "OutputLimitExceeded",
        "produced a transcript larger than the limit",
        "bytes",
        "The program produced more than the viewer accepts: too many statements, rows or prints.",
    ),
    "processes": LimitKind(
        "ProcessLimitExceeded",
        "started more processes or threads than the limit",
        "",
        "The program started more processes or threads than allowed.",
    ),
    "open_files": LimitKind(
        "OpenFilesLimitExceeded",
        "opened more files than the limit",
        "",
        "The program opened more files than allowed.",
    ),
    "file_size": LimitKind(
        "FileSizeLimitExceeded",
        "wrote a file larger than the limit",
        "bytes",
        "The program wrote a file larger than allowed (SQLite database files count too).",
    ),
    "scratch": LimitKind(
        "ScratchLimitExceeded",
        "filled its scratch folder past the limit",
        "bytes",
        "The program filled its scratch folder past the limit.",
    ),
}
