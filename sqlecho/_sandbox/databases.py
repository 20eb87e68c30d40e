"""The database a run is given: the one place that turns ``TraceOptions.database`` into a server.

A run on SQLite needs nothing: the program's own SQLite engines are its database. A run on
PostgreSQL (``TraceOptions(database="postgresql")``) gets a fresh database and role of its own
from :func:`~sqlecho._sandbox.postgres.default_databases` for as long as it runs, dropped
after; the options it runs with then carry that database's URL and the server's version.

Every runner goes through :func:`on_database`: :func:`~sqlecho._sandbox.runner.run_sandboxed`
itself, and :func:`with_database` around the in-process runner, so that the command line, the
app and the static site ask for PostgreSQL in the same words and get it the same way.
:func:`unavailable` says, without starting anything, why PostgreSQL cannot be had here (the
app disables its switch with that sentence).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import pwd
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .._trace.options import DATABASES, TraceOptions

if TYPE_CHECKING:  # a run on SQLite (most runs) never loads the PostgreSQL module
    from .postgres import RunDatabases, ServerWitness

__all__ = ["DatabaseUnavailable", "on_database", "unavailable", "unavailable_transcript", "with_database"]


class DatabaseUnavailable(RuntimeError):
    """The run's database could not be had; the message is one line for the reader."""


def find_binaries(environ: Mapping[str, str]) -> Path:
    """Debian's PostgreSQL server programs (:func:`sqlecho._sandbox.postgres.find_binaries`)."""
    from .postgres import find_binaries as find

    return find(environ)


def default_databases() -> RunDatabases:
    """This process's PostgreSQL databases (:func:`sqlecho._sandbox.postgres.default_databases`)."""
    from .postgres import default_databases as databases

    return databases()


def unavailable(
    environ: Mapping[str, str] = os.environ, *, binaries: Callable[[Mapping[str, str]], Path] = find_binaries
) -> str | None:
    """Why a run cannot have a PostgreSQL database here, in one sentence; None when it can.

    Cheap and side-effect free (no server is started): psycopg must be installed, and either
    ``SQLECHO_POSTGRES_URL`` names a server or Debian's server programs are installed (as root,
    with the ``postgres`` user that runs them).
    """
    if importlib.util.find_spec("psycopg") is None:
        return "PostgreSQL needs the psycopg package (pip install 'psycopg[binary]')."
    if environ.get("SQLECHO_POSTGRES_URL", "").strip():
        return None
    from .postgres import PostgresUnavailable

    try:
        binaries(environ)
    except PostgresUnavailable:
        return (
            "No PostgreSQL server here: install Debian's 'postgresql' package "
            "or set SQLECHO_POSTGRES_URL to an existing server."
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "No 'postgres' user to run PostgreSQL's server as (PostgreSQL refuses to run as root)."
    return None


@contextlib.contextmanager
def on_database(
    options: TraceOptions, databases: Callable[[], RunDatabases] = default_databases
) -> Iterator[TraceOptions]:
    """``options`` for one run on its database: as they are for SQLite (or a run already given
    a URL), else with a fresh PostgreSQL database's URL and version, dropped when the block ends.

    Raises:
        DatabaseUnavailable: an unknown database, or no PostgreSQL server could be had or reached.
    """
    with _acquired(options, databases, witness=False) as (given, _witness):
        yield given


@contextlib.contextmanager
def _acquired(
    options: TraceOptions, databases: Callable[[], RunDatabases], *, witness: bool
) -> Iterator[tuple[TraceOptions, ServerWitness | None]]:
    if options.database not in DATABASES:
        raise DatabaseUnavailable(
            f"there is no database called {options.database!r} (use {' or '.join(DATABASES)})"
        )
    if options.database == "sqlite" or options.database_url:
        yield options, None
        return
    with _server_errors():
        server = databases()
        database = server.acquire()
    try:
        with _server_errors():
            watching = server.witness(database) if witness else None
            given = dataclasses.replace(
                options, database_url=database.url(), database_version=server.version()
            )
        yield given, watching
    finally:
        server.discard(database)  # dropped in the background: the reader does not wait for it


@contextlib.contextmanager
def _server_errors() -> Iterator[None]:
    """The server's refusals as :class:`DatabaseUnavailable`, in one line."""
    from .postgres import PostgresUnavailable

    try:
        yield
    except PostgresUnavailable as exc:
        raise DatabaseUnavailable(_first_line(exc)) from None
    except Exception as exc:  # psycopg's errors: the server refused or could not be reached
        raise DatabaseUnavailable(f"PostgreSQL could not be reached: {_first_line(exc)}") from None


def with_database(
    runner: Callable[..., dict[str, object]],
    *,
    refuse: bool = False,
    databases: Callable[[], RunDatabases] = default_databases,
    witness: bool = False,
) -> Callable[..., dict[str, object]]:
    """``runner`` (any runner: the in-process tracer, the sandbox) given its run's database by
    :func:`on_database`. A database that cannot be had becomes the transcript's error, as in
    the sandbox, or, with ``refuse``, :class:`DatabaseUnavailable` (the command line's usage error).

    With ``witness``, a run on PostgreSQL is also counted by the server itself (its statement
    log, :class:`~sqlecho._sandbox.postgres.ServerWitness`, where this process can read it): a
    transcript whose statements disagree with the server's is marked ``tampered``, as the
    sandbox marks a program that rewrote the tracer."""

    def run(
        source: str, path: Path, options: TraceOptions, name: str, **keywords: object
    ) -> dict[str, object]:
        try:
            with _acquired(options, databases, witness=witness) as (given, watching):
                transcript = runner(source, path, given, name, **keywords)
                if watching is not None and "tampered" not in transcript:
                    try:
                        problem = watching.disagreement(transcript)
                    except OSError:
                        problem = None  # the log could not be read: the witness has nothing to say
                    if problem is not None:
                        transcript["tampered"] = {"reason": problem}
                return transcript
        except DatabaseUnavailable as exc:
            if refuse:
                raise
            return unavailable_transcript(source, name, options, str(exc))

    return run


def unavailable_transcript(source: str, name: str, options: TraceOptions, message: str) -> dict[str, object]:
    """The transcript of a run that never started because its database could not be had."""
    from .._transcript import schema
    from .salvage import salvage_steps, transcript_of

    error = schema.error("DatabaseUnavailable", message)
    return transcript_of(source, name, options, "error", salvage_steps([], source, error, None), 0.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
