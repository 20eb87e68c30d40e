"""The operator's settings for ``streamlit run app.py``, read from environment variables.

=============================  ===================================================================
``SQLECHO_ALLOW_USER_CODE``    ``0`` turns the "Your code" page off (public deployments). Default 1.
``SQLECHO_LESSONS``            The lessons folder. Default: ``lessons/`` beside ``app.py``.
``SQLECHO_RUNNER``             ``sandbox`` (default when available) or ``in-process`` (trusted code
                               only: a single user's own machine).
``SQLECHO_USER_LIMITS``        Limits for pasted programs, e.g. ``wall_time=5,cpu_time=3,memory=256M``
                               (names: the fields of :class:`sqlecho._sandbox.limits.Limits`).
``SQLECHO_UNSANDBOXED_CODE``   ``1`` keeps "Your code" on where the sandbox does not work (programs
                               then run as the server's user, with a warning on the page). Default 0:
                               without a working sandbox the page is off and says why.
``SQLECHO_RUNS``               Pasted programs running at once, server-wide. Default: one per core.
``SQLECHO_RUNS_MEMORY``        Their memory limits summed, at most (``2G``). Default: half the memory.
``SQLECHO_RUN_QUEUE``          Runs that may wait for a place (the rest are refused). Default 50.
``SQLECHO_RUN_CPU``            Cores per run, all its processes together (``0``: no quota). Default 1.
``SQLECHO_CACHE_MB``           Memory for kept traces and drawn steps, in MiB. Default 256.
``SQLECHO_CACHE_DIR``          Lesson transcripts on disk (:mod:`sqlecho._app.store`).
``SQLECHO_POSTGRES``            ``off`` greys out the lesson page's PostgreSQL switch. Default: on where
                               a PostgreSQL server can be had (docs/postgresql.md).
``SQLECHO_CLASS_DB``           The classroom's database, any SQLAlchemy URL (``postgresql://...``
                               when several replicas serve one class). Default: ``classroom.db``
                               in the cache folder. ``off``: no classes (docs/classroom.md).
``SQLECHO_POOL_SIZE``,         The sandbox's spare workers and limits
``SQLECHO_LIMIT_<NAME>``       (:class:`sqlecho._sandbox.settings.SandboxSettings`).
=============================  ===================================================================

This is the one place the app reads its environment: the frame reads it once per run
(:func:`sqlecho._app.view.config_for`) and everything else takes the :class:`AppConfig`. A value
that cannot be read is ignored, with a one-line message the app shows, never a traceback.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._sandbox.admission import AdmissionLimits, machine_memory
from .._sandbox.cgroup import DEFAULT_RUN_CPU, run_cpu_from_environ
from .._sandbox.databases import unavailable
from .._sandbox.limits import Limits
from .._sandbox.settings import SandboxSettings
from .store import cache_dir

__all__ = ["DEFAULT_CACHE_MB", "STEPPINGS", "AppConfig", "cache_bytes", "class_db", "parse_limits"]

_SIZES = {"k": 1024, "m": 1024**2, "g": 1024**3}

DEFAULT_CACHE_MB = 256
"""Enough for every lesson and a class's worth of pasted programs at the step limit (~10 MiB each)."""

STEPPINGS = ("server", "browser")
"""The lesson page's ways of stepping (``SQLECHO_STEPPING``); the first is the default."""


def cache_bytes(environ: Mapping[str, str]) -> tuple[int, str | None]:
    """The budget of ``SQLECHO_CACHE_MB`` in bytes, and a message when the setting was ignored."""
    raw = environ.get("SQLECHO_CACHE_MB", "").strip()
    default = DEFAULT_CACHE_MB * 1024**2
    if not raw:
        return default, None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1024**2:  # also refuses nan and inf
        return default, f"SQLECHO_CACHE_MB={raw!r} is not a positive number of MiB; using {DEFAULT_CACHE_MB}."
    return int(value * 1024**2), None


def class_db(environ: Mapping[str, str]) -> str | None:
    """The classroom's database URL: ``SQLECHO_CLASS_DB``, else a SQLite file in the cache folder;
    None when it is ``off`` (or unset with the cache folder off)."""
    raw = environ.get("SQLECHO_CLASS_DB", "").strip()
    if raw.lower() in ("off", "0", "none"):
        return None
    if raw:
        return raw if "://" in raw else f"sqlite:///{Path(os.path.expanduser(raw)).resolve()}"
    folder = cache_dir(environ)
    return f"sqlite:///{folder.resolve() / 'classroom.db'}" if folder is not None else None


def _number(text: str, integer: bool) -> float | int:
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    scale = 1
    if text and text[-1] in _SIZES:
        scale, text = _SIZES[text[-1]], text[:-1]
    value = float(text) * scale
    return int(value) if integer else value


def parse_limits(text: str) -> tuple[Limits, list[str]]:
    """``Limits`` from ``"wall_time=5,memory=256M"``, and messages for the parts that were ignored."""
    fields = {f.name: f for f in dataclasses.fields(Limits)}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, raw = part.partition("=")
        name = name.strip()
        if name not in fields:
            problems.append(f"SQLECHO_USER_LIMITS: unknown limit {name!r} (known: {', '.join(fields)}).")
            continue
        try:
            value = _number(raw, integer=fields[name].type in ("int", int))
            Limits(**{name: value})  # type: ignore[arg-type]  # one field at a time, checked above
        except ValueError:
            problems.append(f"SQLECHO_USER_LIMITS: {part!r} is not a positive number.")
            continue
        values[name] = value
    return Limits(**values), problems


@dataclass(frozen=True)
class AppConfig:
    """How this app is deployed."""

    lessons_dir: Path
    """Where the lessons are."""
    allow_user_code: bool = True
    """False hides the "Your code" page."""
    runner: str = "sandbox"
    """``sandbox`` or ``in-process``."""
    user_limits: Limits | None = None
    """Limits for pasted programs (None: the sandbox's defaults)."""
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    """The sandbox's spare workers and the limits of a lesson's run."""
    cache_bytes: int = DEFAULT_CACHE_MB * 1024**2
    """Memory for kept traces and drawn steps (``SQLECHO_CACHE_MB``)."""
    cache_dir: Path | None = field(default_factory=lambda: cache_dir({}))
    """Where lesson transcripts are kept on disk; None: nowhere (``SQLECHO_CACHE_DIR=off``)."""
    problems: tuple[str, ...] = field(default=())
    """Settings that were ignored, and why."""
    stepping: str = "server"
    """How the lesson page steps (``SQLECHO_STEPPING``): ``server`` (each step is a run of the
    page) or ``browser`` (the lesson's steps are on the page; the browser shows them)."""
    unsandboxed_code: bool = False
    """Run pasted programs even where the sandbox does not work (the operator said so)."""
    admission: AdmissionLimits = field(
        default_factory=lambda: AdmissionLimits.defaults(os.cpu_count() or 1, machine_memory())
    )
    """How many pasted programs run at once, their memory together, and how many may wait."""
    postgres_unavailable: str | None = None
    """Why lessons cannot run on PostgreSQL here (the switch is greyed out and says it); None: they can."""
    class_db: str | None = None
    """The classroom's database URL (``SQLECHO_CLASS_DB``); None: classes are off."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str], default_lessons: Path) -> AppConfig:
        """Read the settings from ``environ`` (normally ``os.environ``)."""
        problems: list[str] = []
        allow = environ.get("SQLECHO_ALLOW_USER_CODE", "1").strip().lower()
        if allow not in ("0", "1", "false", "true", "no", "yes", "off", "on", ""):
            problems.append(f"SQLECHO_ALLOW_USER_CODE={allow!r} is not 0 or 1; the page stays off.")
        runner = environ.get("SQLECHO_RUNNER", "sandbox").strip().lower().replace("_", "-") or "sandbox"
        if runner not in ("sandbox", "in-process"):
            problems.append(f"SQLECHO_RUNNER={runner!r} is not 'sandbox' or 'in-process'; using the sandbox.")
            runner = "sandbox"
        limits = None
        if environ.get("SQLECHO_USER_LIMITS", "").strip():
            limits, limit_problems = parse_limits(environ["SQLECHO_USER_LIMITS"])
            problems.extend(limit_problems)
        budget, problem = cache_bytes(environ)
        if problem:
            problems.append(problem)
        sandbox, sandbox_problems = SandboxSettings.from_environ(environ)
        problems.extend(sandbox_problems)
        unsandboxed = environ.get("SQLECHO_UNSANDBOXED_CODE", "0").strip().lower()
        if unsandboxed not in ("0", "1", "false", "true", "no", "yes", "off", "on", ""):
            problems.append(
                f"SQLECHO_UNSANDBOXED_CODE={unsandboxed!r} is not 0 or 1; without a sandbox, pasted code stays off."
            )
        admission, admission_problems = AdmissionLimits.from_environ(
            environ, cpus=os.cpu_count() or 1, memory=machine_memory()
        )
        problems.extend(admission_problems)
        try:
            run_cpu_from_environ(environ)  # the sandbox reads it; a bad value is said here too
        except ValueError as exc:
            problems.append(f"{exc}; using {DEFAULT_RUN_CPU:g}.")
        stepping = environ.get("SQLECHO_STEPPING", "server").strip().lower() or "server"
        if stepping not in STEPPINGS:
            problems.append(f"SQLECHO_STEPPING={stepping!r} is not 'server' or 'browser'; using 'server'.")
            stepping = "server"
        lessons = environ.get("SQLECHO_LESSONS", "").strip()
        postgres = environ.get("SQLECHO_POSTGRES", "").strip().lower()
        if postgres not in ("", "0", "1", "false", "true", "no", "yes", "off", "on"):
            problems.append(
                f"SQLECHO_POSTGRES={postgres!r} is not on or off; PostgreSQL stays on where it can be had."
            )
        if postgres in ("0", "false", "no", "off"):
            postgres_unavailable: str | None = (
                "PostgreSQL is turned off on this server (SQLECHO_POSTGRES=off)."
            )
        else:
            postgres_unavailable = unavailable(environ)
        return cls(
            lessons_dir=Path(os.path.expanduser(lessons)) if lessons else default_lessons,
            allow_user_code=allow in ("1", "true", "yes", "on", ""),
            runner=runner,
            user_limits=limits,
            sandbox=sandbox,
            cache_bytes=budget,
            cache_dir=cache_dir(environ),
            problems=tuple(problems),
            unsandboxed_code=unsandboxed in ("1", "true", "yes", "on"),
            admission=admission,
            stepping=stepping,
            postgres_unavailable=postgres_unavailable,
            class_db=class_db(environ),
        )
