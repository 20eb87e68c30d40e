"""How to run a program (:class:`TraceOptions`) and what runs one (:class:`Runner`).

Both sit below the tracer and the step builder, so that neither has to import the other for
them, and above every runner: the in-process tracer, the sandbox, the command line and the app
all speak this one signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Runner", "TraceOptions"]


@dataclass(frozen=True)
class TraceOptions:
    """How to run the program. The defaults run it exactly as written."""

    expire_on_commit: bool | None = None
    """False: every Session behaves as if created with ``expire_on_commit=False``."""
    autoflush: bool | None = None
    """False: every Session behaves as if created with ``autoflush=False``."""
    max_steps: int = 2000
    """Line-by-line programs stop stepping (not running) after this many steps."""
    max_events: int = 20_000
    """Events kept in the whole transcript; later ones are counted, not kept."""
    max_output_chars: int = 200_000
    """Characters of printed output kept in the whole transcript."""
    max_rows: int = 200
    """Rows kept per table in each step's database snapshot."""
    snapshots: bool = True
    """False skips objects/session/tables snapshots (used to prove they change nothing)."""
    database_url: str | None = None
    """A PostgreSQL database (``postgresql+psycopg://`` URL) that every engine the program
    creates for a ``sqlite`` URL uses instead; None: SQLite, as written."""
    database_version: str = ""
    """That server's version, for the transcript's header."""


class Runner(Protocol):
    """Runs one program and returns its transcript (the signature of ``run_sandboxed``).

    ``limits`` and ``pool`` are the sandbox's ``Limits`` and ``WorkerPool``; they are typed
    ``Any`` here because the sandbox is a layer above this one, and an in-process runner
    ignores them. ``private``: the program's folder exists only where it runs (pasted code).
    ``cancel``: a ``threading.Event`` that stops the run when set (a runner that cannot stop a
    run ignores it).
    """

    def __call__(
        self,
        source: str,
        path: Path,
        options: TraceOptions,
        name: str,
        *,
        limits: Any = None,
        pool: Any = None,
        private: bool = False,
        cancel: Any = None,
    ) -> dict[str, Any]: ...
