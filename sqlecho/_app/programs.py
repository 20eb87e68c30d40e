"""What every page that runs a reader's code shares: "Your code", an exercise's check, an edited
lesson step. Whether such code may run on this server (and why not), where the program "lives",
what it holds of the server's admission, and how it is contained, in one sentence.

A page imports no other page: what two of them need lives here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .._sandbox.launch import sandbox_status
from .._sandbox.limits import Limits
from .config import AppConfig
from .traces import TraceCache

__all__ = ["PROGRAM_NAME", "code_turned_off", "program_path", "run_memory", "sandbox_description"]

PROGRAM_NAME = "your_code.py"
"""The name a pasted program goes by (in its tracebacks, in the sandbox's private ``/tmp``)."""
# Literally /tmp: the one writable folder inside the sandbox, whatever TMPDIR says out here.
_PRIVATE_FOLDER = Path("/tmp/sqlecho-your-code")


def code_turned_off(config: AppConfig, status: str) -> str | None:
    """Why pasted code may not run on this server, or None when it may. ``status``: the
    sandbox's status line (:func:`sqlecho._sandbox.launch.sandbox_status`).

    Fails closed: with the sandbox runner and no working bubblewrap, a pasted program would run
    as the server's user, so it runs only if the operator said so (``SQLECHO_UNSANDBOXED_CODE=1``).
    """
    if not config.allow_user_code:
        return "Tracing your own code is turned off on this server."
    if config.runner != "sandbox" or status.startswith("bubblewrap") or config.unsandboxed_code:
        return None
    why = status.partition("; ")[0].removeprefix("limits only: ")
    return (
        f"Tracing your own code is off on this server: the sandbox does not work here ({why}). "
        "The operator can install bubblewrap (see docs/sandbox.md), or set "
        "SQLECHO_UNSANDBOXED_CODE=1 to run programs without it."
    )


def run_memory(cache: TraceCache, limits: Limits | None) -> int:
    """The memory limit of a pasted run: what it holds of the server's admission."""
    if limits is None:
        pool_limits = getattr(cache.pool, "limits", None)
        limits = pool_limits if isinstance(pool_limits, Limits) else Limits()
    return limits.memory


def sandbox_description(status: str | None = None) -> str:
    """How pasted programs are contained on this server, in one sentence (``status``: the
    sandbox's status line; default: this machine's)."""
    status = str(sandbox_status()) if status is None else status
    confinement, _, whole_run = status.partition("; ")
    if confinement == "bubblewrap":
        note = (
            "Programs run in a bubblewrap sandbox as a user of their own, without privileges: no "
            "network, a private temporary folder, read-only system files, and limits on time, "
            "memory and output."
        )
    else:
        note = f"Programs run in a separate process with limits on time, memory and output ({confinement})."
    if whole_run.startswith("limits per process only"):
        note += f" Memory and processes are limited per process, not for a run as a whole ({whole_run})."
    return note


def program_path(kind: str) -> Path:
    """Where the pasted program "lives". In the sandbox, a folder of the worker's private
    ``/tmp`` that exists only there: a folder of that name on this machine (which anyone could
    create) is never shown to the program. In this process it needs a real, empty folder."""
    if kind != "in-process":
        return _PRIVATE_FOLDER / PROGRAM_NAME
    folder = Path(tempfile.gettempdir()) / "sqlecho-your-code"
    folder.mkdir(exist_ok=True)
    return folder / PROGRAM_NAME
