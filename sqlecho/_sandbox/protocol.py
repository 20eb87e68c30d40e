"""The channel between a worker and the server: JSON lines, one message of one kind per line.

    {"ready": {"versions": {...}}}     the worker has imported its libraries and waits for a job
    {"started": true}                  the job (one JSON document on the worker's stdin) arrived
    {"step": STEP}                     a finished step, in order
    {"limit": NAME}                    a limit fired (the program may still swallow the exception)
    {"done": TRANSCRIPT}               the end: the transcript without its steps ("steps": count)
    {"failed": {"type", "message"}}    the worker itself failed (not the program)
    {"tampered": REASON}               the program reached into the tracer (from the supervisor)
    {"exit": STATUS}                   the supervisor's last word: how the worker ended

The worker writes to a pipe of its own; the supervisor forwards the lines that begin like one of
``WORKER_KINDS`` (the program shares the worker's process, so it could write anything there) and
adds ``tampered`` and ``exit``, which only it can send. The server checks every message (validate.py).

Standard library only, and no relative import: the supervisor loads this file by path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = ["FOLDERS_VARIABLE", "FORWARDED", "SUPERVISOR_KINDS", "WORKER_KINDS", "encode"]

WORKER_KINDS = ("ready", "started", "step", "limit", "done", "failed")
SUPERVISOR_KINDS = ("tampered", "exit")
FOLDERS_VARIABLE = "SQLECHO_FOLDERS"
"""In bubblewrap: JSON ``[[path, device, inode], ...]`` of each program folder shown as it is, as
its parent found it; the worker refuses to run a program where another folder is mounted."""
FORWARDED = tuple(b'{"' + kind.encode() + b'":' for kind in WORKER_KINDS)
"""The start of every line a worker may send: ``encode`` writes no space after the brace, so a
prefix test is exact."""


def encode(message: Mapping[str, object]) -> bytes:
    """One message as one line.

    ASCII escapes keep lone surrogates (a program may print them) intact through the pipe.
    """
    return (json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
