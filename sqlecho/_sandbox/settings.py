"""The sandbox's settings, read from ``SQLECHO_*`` environment variables in one place.

=============================  ===================================================================
``SQLECHO_POOL_SIZE``          Spare workers the app keeps started (0 or more). Default 2.
``SQLECHO_LIMIT_<NAME>``       A run's limits, one variable per field of
                               :class:`~sqlecho._sandbox.limits.Limits` (``SQLECHO_LIMIT_WALL_TIME=5``;
                               sizes in bytes).
``SQLECHO_CACHE_DIR``          What sqlecho keeps between runs (the app's lesson transcripts, the
                               private PostgreSQL cluster). Default: ``$XDG_CACHE_HOME/sqlecho``,
                               else ``~/.cache/sqlecho``. ``off``: keep no transcripts on disk.
=============================  ===================================================================

Both the command line and the app read them here, once, and hand the values on as arguments.
A value that cannot be read is reported as one plain sentence, never a traceback: the command
line stops with it, the app shows it and uses the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .limits import Limits

__all__ = ["DEFAULT_POOL_SIZE", "SandboxSettings", "cache_dir", "user_cache_dir"]

DEFAULT_POOL_SIZE = 2
"""Spare workers: one for the next reader, one for the reader after (each ~60 MB while it waits)."""


@dataclass(frozen=True)
class SandboxSettings:
    """How the sandbox runs programs on this machine."""

    pool_size: int = DEFAULT_POOL_SIZE
    """Spare workers to keep started (``SQLECHO_POOL_SIZE``)."""
    limits: Limits = field(default_factory=Limits)
    """A run's limits (``SQLECHO_LIMIT_*``)."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> tuple[SandboxSettings, list[str]]:
        """The settings in ``environ`` (normally ``os.environ``), and one sentence per value that
        was refused (the default is used in its place)."""
        problems: list[str] = []
        raw = environ.get("SQLECHO_POOL_SIZE", "").strip()
        size = DEFAULT_POOL_SIZE
        if raw:
            try:
                size = int(raw)
            except ValueError:
                size = -1
            if size < 0:
                problems.append(
                    f"SQLECHO_POOL_SIZE={raw!r} is not a whole number of spare workers (0 or more); "
                    f"using {DEFAULT_POOL_SIZE}."
                )
                size = DEFAULT_POOL_SIZE
        try:
            limits = Limits.from_environ(environ)
        except ValueError as exc:
            problems.append(f"{exc}; using the default limits.")
            limits = Limits()
        return cls(pool_size=size, limits=limits), problems


def user_cache_dir(environ: Mapping[str, str]) -> Path:
    """sqlecho's folder in the user's cache: ``$XDG_CACHE_HOME/sqlecho``, else ``~/.cache/sqlecho``."""
    base = environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "sqlecho"


def cache_dir(environ: Mapping[str, str]) -> Path | None:
    """The folder of ``SQLECHO_CACHE_DIR`` (else :func:`user_cache_dir`), None when it is ``off``."""
    raw = environ.get("SQLECHO_CACHE_DIR", "").strip()
    if raw.lower() in ("off", "0", "none"):
        return None
    if raw:
        return Path(os.path.expanduser(raw))
    return user_cache_dir(environ)
