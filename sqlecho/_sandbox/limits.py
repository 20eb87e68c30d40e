"""What a sandboxed run may use, and the error a step records when the program used more.

A limit is enforced twice where possible: inside the worker, where hitting it raises one of the
:class:`LimitExceeded` exceptions in the program itself (so the step that hit it keeps its
events), and from outside (the kernel's hard rlimits, the parent's kill), in case the program
swallows the exception or is stuck in C code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .._transcript.limits import LIMIT_KINDS, LimitExceeded
from .._transcript.schema import error

__all__ = [
    "LimitExceeded",
    "Limits",
    "exception_for",
    "limit_error",
    "limit_message",
    "limit_of_error",
]

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one sandboxed run may use. Every field is a limit name in error records."""

    wall_time: float = 10.0
    """Seconds from the start of the program to its end, sleeping included."""
    cpu_time: float = 5.0
    """Seconds of CPU time the program may use."""
    memory: int = 512 * MiB
    """Bytes of address space; a warm worker with SQLAlchemy and pydantic uses ~70 MiB."""
    output: int = 16 * MiB
    """Bytes of transcript the parent reads; steps after it are dropped."""
    processes: int = 16
    """Processes and threads of the run (counted per sandbox user; see docs/sandbox.md)."""
    open_files: int = 64
    """Open file descriptors."""
    file_size: int = 16 * MiB
    """Bytes of the largest file the program may write (SQLite databases included)."""
    scratch: int = 64 * MiB
    """Bytes of the private scratch folder (``/tmp`` in the sandbox; bubblewrap only)."""

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not value > 0:
                raise ValueError(f"limit {name} must be positive, got {value!r}")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Limits:
        """Defaults, changed by ``SQLECHO_LIMIT_<NAME>`` variables (``SQLECHO_LIMIT_WALL_TIME=5``;
        sizes in bytes). Raises ValueError, naming the variable, for a value that is not a number.
        """
        changes: dict[str, Any] = {}
        for item in fields(cls):
            variable = f"SQLECHO_LIMIT_{item.name.upper()}"
            text = environ.get(variable)
            if text is None:
                continue
            try:
                changes[item.name] = float(text) if item.type == "float" else int(text)
            except ValueError:
                raise ValueError(f"{variable} must be a number, got {text!r}") from None
        try:
            return cls(**changes)
        except ValueError as exc:
            raise ValueError(f"{exc} (from SQLECHO_LIMIT_* variables)") from None

    def cpu_seconds(self) -> int:
        """``RLIMIT_CPU`` counts whole seconds."""
        return max(1, math.ceil(self.cpu_time))


def _amount(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:g} s"
    if unit == "bytes":
        return f"{value / MiB:g} MiB" if value >= MiB else f"{value:g} bytes"
    return f"{value:g}"


def limit_message(name: str, limits: Limits, *, whole_run: bool = False) -> str:
    """One plain sentence naming the limit and its value (``whole_run``: counted over every
    process of the run, by its control group)."""
    kind = LIMIT_KINDS[name]
    did = kind.whole_run or kind.did if whole_run else kind.did
    return f"Stopped: the program {did} ({name} = {_amount(getattr(limits, name), kind.unit)})."


def limit_error(name: str, limits: Limits, line: int | None, *, whole_run: bool = False) -> dict[str, Any]:
    """The ``error`` record of the step where limit ``name`` was hit (same keys as the tracer's)."""
    message = limit_message(name, limits, whole_run=whole_run)
    return {**error(LIMIT_KINDS[name].error_type, message, line), "limit": name}


def exception_for(name: str, limits: Limits) -> LimitExceeded:
    """A fresh exception for limit ``name``, of a subclass named after it."""
    cls = _CLASSES[name]
    return cls(limit_message(name, limits))


_CLASSES: dict[str, type[LimitExceeded]] = {
    name: type(kind.error_type, (LimitExceeded,), {"limit": name, "__module__": __name__})
    for name, kind in LIMIT_KINDS.items()
}


def limit_of_error(error: Mapping[str, object], fired: str | None, spawned: bool) -> str | None:
    """Which limit (if any) a step's error really is.

    Args:
        error: the step's error record, as the tracer made it.
        fired: the limit whose signal arrived during the step, if one did. The program's own
            handlers (or SQLite's, which turns any callback error into "interrupted") may have
            replaced the exception we raised, but the limit is still what stopped it.
        spawned: the program tried to start a process during the step.
    """
    if error.get("limit"):
        return str(error["limit"])
    if fired:
        return fired
    kind, message = error.get("type"), str(error.get("message", ""))
    if kind == "MemoryError":
        return "memory"
    if "[Errno 24]" in message:  # EMFILE
        return "open_files"
    if "[Errno 27]" in message:  # EFBIG
        return "file_size"
    if "[Errno 28]" in message or "database or disk is full" in message:  # ENOSPC
        return "scratch"
    if "can't start new thread" in message:
        return "processes"
    if spawned and "[Errno 11]" in message:  # EAGAIN from fork() at RLIMIT_NPROC
        return "processes"
    return None
