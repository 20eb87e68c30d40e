"""Transcripts of the lessons on disk, shared by server restarts and by every replica.

A lesson's transcript depends only on its text, how it is run and the versions of the code that
ran it, so it is kept in a file named by a digest of exactly those: an edited lesson, another
switch, a new sqlecho or SQLAlchemy all give another name, and a stale file is never read.

Files are written whole or not at all (a temporary file in the same folder, then a rename), so
two replicas writing the same lesson at once leave one good file. A file is not trusted because
of its name: it must name the same key inside, and the transcript must pass the same checks as
a worker's messages (:mod:`sqlecho._transcript.validate`). Anything else (truncated, corrupt,
written by another version or by someone else) is ignored, and the lesson is traced again.

=============================  ===================================================================
``SQLECHO_CACHE_DIR``          The folder (made when needed). Default: ``$XDG_CACHE_HOME/sqlecho``,
                               else ``~/.cache/sqlecho``. ``off``: keep nothing on disk. (Read by
                               :func:`sqlecho._sandbox.settings.cache_dir`, which the private
                               PostgreSQL cluster's folder follows too.)
=============================  ===================================================================
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._sandbox.settings import cache_dir
from .._trace.options import TraceOptions
from .._transcript.schema import TRANSCRIPT_VERSION
from .._transcript.validate import Budget, InvalidMessage, check_done, check_step, source_line_count

__all__ = ["TranscriptStore", "cache_dir", "source_digest", "versions"]

_log = logging.getLogger(__name__)

_FORMAT = 1
"""The layout of a stored file (``{"format", "key", "transcript"}``)."""


def source_digest(source: str) -> str:
    """A program's text as a key: an edited lesson is a new program (lone surrogates included)."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def _installed(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


@functools.cache
def _code_digest() -> str:
    # The package's own code, not only its version number: a checkout being worked on keeps
    # its version while the tracer changes, and must not be served what the old code wrote.
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def versions() -> dict[str, str]:
    """What a transcript's content depends on besides the program: sqlecho's version and code,
    the transcript format, and the ORM's versions, read from the installed packages' metadata so
    that the server need not import the ORM to name them."""
    return {
        "sqlecho": f"{_installed('sqlecho')}+{_code_digest()}",
        "transcript": str(TRANSCRIPT_VERSION),
        "sqlalchemy": _installed("sqlalchemy"),
        "sqlmodel": _installed("sqlmodel"),
    }


class TranscriptStore:
    """A folder of validated transcripts, one file per (program, options, versions).

    Args:
        folder: where the files live; made on the first write. A folder that cannot be written
            only means nothing is kept (logged once).
        runner: the runner's name (``sandbox`` or ``in-process``): part of the key.
        code: what the transcripts depend on besides the program (default :func:`versions`).
    """

    def __init__(self, folder: Path, runner: str, code: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self.runner = runner
        self._versions = dict(versions() if code is None else code)
        self._warned = False

    def key(self, source: str, path: Path, options: TraceOptions, name: str) -> str:
        """The file's name (without ``.json``): a digest of everything the transcript depends on."""
        parts = {
            "source": source_digest(source),
            "path": str(path),
            "name": name,
            "options": repr(options),
            "runner": self.runner,
            "versions": self._versions,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def load(self, source: str, path: Path, options: TraceOptions, name: str) -> dict[str, Any] | None:
        """The stored transcript, or None (no file, or one that is not a valid transcript of this key)."""
        key = self.key(source, path, options, name)
        try:
            data = json.loads((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError):  # absent, unreadable, or not JSON (cut short, say)
            return None
        if type(data) is not dict or data.get("format") != _FORMAT or data.get("key") != key:
            return None
        transcript = data.get("transcript")
        problem = _invalid(transcript, source, options, name)
        if problem:
            _log.warning("ignored the stored transcript %s: %s", key, problem)
            return None
        assert isinstance(transcript, dict)
        return transcript

    def save(
        self, source: str, path: Path, options: TraceOptions, name: str, transcript: Mapping[str, Any]
    ) -> bool:
        """Keep ``transcript`` (only one that is valid, so that a file is never worse than a trace);
        True when it was written."""
        if _invalid(transcript, source, options, name):
            return False
        key = self.key(source, path, options, name)
        data = json.dumps({"format": _FORMAT, "key": key, "transcript": transcript}, separators=(",", ":"))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    file.write(data)
                os.replace(temporary, self.folder / f"{key}.json")
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as exc:
            if not self._warned:
                self._warned = True
                _log.warning("transcripts are not kept on disk (%s): %s", self.folder, exc)
            return False
        return True


def _invalid(transcript: object, source: str, options: TraceOptions, name: str) -> str | None:
    """Why ``transcript`` is not one the tracer could have written for this program, or None."""
    if type(transcript) is not dict:
        return "not an object"
    steps = transcript.get("steps")
    if type(steps) is not list:
        return "no list of steps"
    if transcript.get("source") != name:
        return "the transcript is of another program"
    budget = Budget.for_options(options)
    lines = source_line_count(source)
    try:
        for index, step in enumerate(steps):
            check_step(step, index=index, source_lines=lines, budget=budget)
        check_done({**transcript, "steps": len(steps)}, steps_received=len(steps))
    except InvalidMessage as exc:
        return str(exc)
    return None
