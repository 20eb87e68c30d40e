"""How to run a program (:class:`TraceOptions`) and what runs one (:class:`Runner`).

Both sit below the tracer and the step builder, so that neither has to import the other for
them, and above every runner: the in-process tracer, the sandbox, the command line and the app
all speak this one signature.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .._transcript.schema import MAX_EVENTS, MAX_ROWS, MAX_STEPS, SWITCH_NAMES

__all__ = ["DATABASES", "SWITCHES", "Runner", "Switch", "TraceOptions", "switched_off", "trace_here"]

DATABASES = ("sqlite", "postgresql")
"""The databases a run may use (``TraceOptions.database``), the default first."""


@dataclass(frozen=True)
class TraceOptions:
    """How to run the program. The defaults run it exactly as written."""

    expire_on_commit: bool | None = None
    """False: every Session behaves as if created with ``expire_on_commit=False``."""
    autoflush: bool | None = None
    """False: every Session behaves as if created with ``autoflush=False``."""
    max_steps: int = MAX_STEPS
    """Line-by-line programs stop stepping (not running) after this many steps."""
    max_events: int = MAX_EVENTS
    """Events kept in the whole transcript; later ones are counted, not kept."""
    max_output_chars: int = 200_000
    """Characters of printed output kept in the whole transcript."""
    max_rows: int = MAX_ROWS
    """Rows kept per table in each step's database snapshot."""
    snapshots: bool = True
    """False skips objects/session/tables snapshots (used to prove they change nothing)."""
    database: str = "sqlite"
    """The database the program's SQLite engines use: ``sqlite`` as written, or ``postgresql``
    (a fresh database of the run's own, which the runner acquires and fills in below)."""
    database_url: str | None = None
    """A PostgreSQL database (``postgresql+psycopg://`` URL) that every engine the program
    creates for a ``sqlite`` URL uses instead; None: SQLite, as written."""
    database_version: str = ""
    """That server's version, for the transcript's header."""

    @property
    def runs_on(self) -> str:
        """The database the run's SQLite engines reach: ``postgresql`` once given a URL, else
        ``self.database``."""
        return "postgresql" if self.database_url else self.database

    def switches(self) -> dict[str, bool | None]:
        """The what-if switches of this run, as a transcript's ``options`` field writes them."""
        return {name: getattr(self, name) for name in SWITCH_NAMES}

    def overrides(self) -> dict[str, bool]:
        """The Session arguments this run overrides (the switches that are not None)."""
        return {name: value for name, value in self.switches().items() if value is not None}


@dataclass(frozen=True)
class Switch:
    """One what-if switch, in the words of each place that offers it."""

    name: str
    """The Session argument and the ``TraceOptions`` field: ``expire_on_commit``."""
    flag: str
    """The command line's option that turns it off: ``--no-expire-on-commit``."""
    help: str
    """What turning it off does, in one line."""

    def off(self) -> TraceOptions:
        """The options of a run with this switch off and the others as written."""
        return switched_off([self.name])


def switched_off(names: Iterable[str], options: TraceOptions | None = None) -> TraceOptions:
    """``options`` (default: as written) with the switches ``names`` off."""
    changes: dict[str, Any] = dict.fromkeys(names, False)
    return dataclasses.replace(options or TraceOptions(), **changes)


SWITCHES = tuple(
    Switch(name, "--no-" + name.replace("_", "-"), f"run as if every Session had {name}=False")
    for name in SWITCH_NAMES
)
"""The teacher's switches, in the order every list of them shows."""


class Runner(Protocol):
    """Runs one program and returns its transcript: ``source`` as the file ``path``, run with
    ``options``, ``name`` in the transcript's ``source`` field.

    What every runner takes. A runner may take more, as keywords, from callers that know it:
    the sandbox's ``run_sandboxed`` takes its limits, a pool of warm workers, a private folder
    and a cancel event (the app's ``SandboxRunner`` names them); the in-process runner accepts
    and ignores them, so that the app can hold either.
    """

    def __call__(self, source: str, path: Path, options: TraceOptions, name: str) -> dict[str, Any]: ...


def trace_here(
    source: str, path: Path, options: TraceOptions, name: str, **ignored: object
) -> dict[str, object]:
    """The in-process :class:`Runner` (:func:`sqlecho._trace.tracer.in_process`), imported on
    first use: a process that only might trace here (the app server, the command line) loads
    SQLAlchemy's ORM when it does, not when it starts. The sandbox's keywords are ignored."""
    from .tracer import in_process

    return in_process(source, path, options, name)
