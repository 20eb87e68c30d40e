"""Plain-language explanations for the errors a learner meets with the ORM.

A step's ``error`` record (type, message, optional SQLAlchemy ``code`` and sandbox ``limit``) is
turned into a short "what happened" and "what to do", plus a link to SQLAlchemy's own page for
the error code. Everything here is pure: the app and the tests call :func:`explain` directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._transcript.limits import LIMIT_KINDS

__all__ = ["Explanation", "clean_message", "describe_truncation", "docs_link", "explain"]

# SQLAlchemy appends this to its messages; the app shows the link separately.
_BACKGROUND = re.compile(r"\s*\(Background on this error at: \S+\)")
_ONE_DOCS = "https://docs.sqlalchemy.org/en/{series}/core/connections.html#sqlalchemy.engine.Result.one"


@dataclass(frozen=True)
class Explanation:
    """What an error means, for a reader who has just met it."""

    what: str
    """One or two sentences: what went wrong, in the reader's terms."""
    fix: str
    """What to do about it (empty when there is nothing general to say)."""
    link: str | None = None
    """SQLAlchemy's page about this error, when there is one."""


# type name -> (what, fix). Matched on the exception's class name, which is what the transcript keeps.
_BY_TYPE: dict[str, tuple[str, str]] = {
    "DetachedInstanceError": (
        "The object is detached: its Session was closed (or the object was expunged), so SQLAlchemy "
        "cannot load the attribute you asked for. Expired attributes (commit() expires everything) and "
        "relationships that were never loaded need a Session to be read.",
        "Read what you need while the session is still open, load relationships eagerly (selectinload), "
        "create the Session with expire_on_commit=False, or attach the object again with session.add().",
    ),
    "NoResultFound": (
        ".one() requires exactly one row, and the query returned none.",
        "Use .first() or .one_or_none() when 'no row' is a normal outcome, or session.get(Model, id) "
        "to look a row up by primary key (it returns None when there is none).",
    ),
    "MultipleResultsFound": (
        ".one() (or .one_or_none()) expects at most one row, and the query returned several.",
        "Add a filter that makes the row unique (for example on the primary key), or use .first() or .all().",
    ),
    "IntegrityError": (
        "The database refused the statement: a constraint failed (NOT NULL, UNIQUE, FOREIGN KEY or CHECK). "
        "The statement is often sent by a flush or an autoflush, earlier than the line that looks guilty.",
        "Fix the data that breaks the constraint. After this error the Session's transaction is rolled back: "
        "call session.rollback() before using the session again.",
    ),
    "PendingRollbackError": (
        "An earlier flush failed inside this transaction, so the Session refuses to go on until the "
        "failed transaction is rolled back.",
        "Call session.rollback() (or use 'with Session(engine) as session:' blocks that end the transaction).",
    ),
    "MissingGreenlet": (
        "An async Session tried to run SQL implicitly, during an attribute access (a lazy load or a load "
        "of expired attributes). With asyncio every query must be awaited, and attribute access cannot await.",
        "Load what you need eagerly (selectinload), await session.refresh(obj, ['attribute']), use "
        "expire_on_commit=False, or read relationships through AsyncAttrs' awaitable_attrs.",
    ),
    "InvalidRequestError": (
        "SQLAlchemy refused the call: the object or the Session is not in a state where this is allowed "
        "(for example an object already attached to another Session, or one that was never flushed).",
        "Check the state badge of the object on the step before: what is allowed depends on it.",
    ),
    "ObjectDeletedError": (
        "The row behind this object is gone: it was deleted in the database, so its attributes cannot be loaded.",
        "Do not use an object after deleting its row; query again if you need a fresh one.",
    ),
    "StaleDataError": (
        "An UPDATE or DELETE matched no row: the row changed or vanished since the object was loaded.",
        "Reload the object (session.refresh) or query it again before changing it.",
    ),
    "UnmappedInstanceError": (
        "The object is not of a mapped class: for SQLModel, only classes declared with table=True "
        "can be added to a Session.",
        "Add table=True to the model, or convert the data model into the table model first.",
    ),
    "FlushError": (
        "The Session could not work out how to flush the pending changes (for example two objects with "
        "the same primary key, or a required related object missing).",
        "Look at the pending objects on this step: one of them conflicts with another.",
    ),
    "OperationalError": (
        "The database could not run the statement (for example: no such table, or the database is locked).",
        "Did create_all() run on this engine? Is the table name right?",
    ),
    "SyntaxError": (
        "Python could not read the program, so nothing ran.",
        "Fix the line shown; the message says what Python expected there.",
    ),
    "IndentationError": (
        "Python could not read the program: the indentation of a line does not match its block.",
        "Indent the line shown like the other lines of its block (spaces, consistently).",
    ),
    "SystemExit": (
        "The program ended itself with sys.exit() and a non-zero status.",
        "",
    ),
}

# Limit names are the fields of sqlecho._sandbox.limits.Limits, as the sandbox records them in "limit".
_LIMIT_FIX = "Programs traced here run with limits, so that one program cannot slow down everyone's."


def clean_message(message: str) -> str:
    """The error message without SQLAlchemy's "(Background on this error at: ...)" suffix."""
    return _BACKGROUND.sub("", message).strip()


def _series(versions: Mapping[str, Any] | None) -> str:
    """ "21" for SQLAlchemy 2.1.x: the series in the error-page and docs addresses of the traced run."""
    version = str((versions or {}).get("sqlalchemy") or "2.0")
    match = re.match(r"(\d+)\.(\d+)", version)
    return f"{match[1]}{match[2]}" if match else "20"


def docs_link(code: str, versions: Mapping[str, Any] | None = None) -> str:
    """SQLAlchemy's page for an error code, for the SQLAlchemy series the program ran with.

    >>> docs_link("bhk3", {"sqlalchemy": "2.0.36"})
    'https://sqlalche.me/e/20/bhk3'
    """
    return f"https://sqlalche.me/e/{_series(versions)}/{code}"


def _limit_text(limit: Any) -> str:
    kind = str(limit)
    known = LIMIT_KINDS.get(kind)
    return known.hint if known else f"The program hit a limit ({kind}) and was stopped."


def explain(error: Mapping[str, Any], versions: Mapping[str, Any] | None = None) -> Explanation | None:
    """An explanation of a step's ``error`` record, or None when there is nothing general to say.

    Args:
        error: the step's ``error`` dict (``type``, ``message``, optional ``code`` and ``limit``).
        versions: the transcript's ``versions`` (picks the SQLAlchemy series of the links).
    """
    code = str(error.get("code") or "")
    # Only a real error code makes a link; anything else in the field is ignored.
    link = docs_link(code, versions) if re.fullmatch(r"[a-z0-9]{2,8}", code) else None
    if error.get("limit"):
        return Explanation(_limit_text(error["limit"]), _LIMIT_FIX, link)
    kind = str(error.get("type") or "")
    message = str(error.get("message") or "")
    if kind == "InvalidRequestError" and "is not persistent within this Session" in message:
        return Explanation(
            "refresh() or expire() was called on an object that is not persistent in this Session "
            "(it is transient, pending, or belongs to another Session).",
            "Add and flush the object first, or use the Session the object belongs to.",
            link,
        )
    if kind == "PermissionError" and message.startswith("[Errno 1]"):
        return Explanation(
            "The operating system refused this call. Programs run in a sandbox that does not allow "
            "what could reach the machine outside it: mounting, new namespaces, tracing other "
            "processes, kernel keyrings, shared memory segments, and writing outside /tmp.",
            "Nothing an ORM program needs is refused; keep files the program writes under /tmp "
            "(SQLite databases with a relative path go there already).",
            link,
        )
    if kind in ("NoResultFound", "MultipleResultsFound") and link is None:
        link = _ONE_DOCS.format(series=_series(versions))
    if kind in _BY_TYPE:
        what, fix = _BY_TYPE[kind]
        return Explanation(what, fix, link)
    if link:
        return Explanation("SQLAlchemy raised this error; its page explains the usual causes.", "", link)
    return None


def describe_truncation(truncated: Mapping[str, Any]) -> str:
    """The transcript's ``truncated`` record as a sentence: what was cut, and where."""
    parts = []
    for key, value in truncated.items():
        if key == "steps":
            parts.append(
                f"stepping stopped after {value} steps (the program ran on; the last step holds everything it did after that)"
            )
        elif key == "events_dropped":
            parts.append(f"{value} later events were dropped")
        elif key == "output":
            parts.append("the program printed more than is kept")
        else:
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "The transcript was cut short: " + "; ".join(parts) + "."
