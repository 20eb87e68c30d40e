"""The numbered list of captured statements that failure messages and reports show.

Each statement comes with the file and line that sent it, so that a failing test says
where the unexpected SQL came from without re-running it under a debugger.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from .._record.capture import Capture
from .._record.recorder import Event
from .._transcript.counting import is_statement
from .._transcript.sql import fold

__all__ = [
    "LIMIT",
    "EmptyCaptureWarning",
    "SQLAssertionError",
    "heading",
    "listing",
    "location",
    "params_text",
    "prefix",
    "require_capture",
    "warn_if_empty",
]

# Past this many statements a listing stops: a thousand lines would bury the diff above.
LIMIT = 50
_MARKERS = {"begin": "BEGIN (implicit)", "commit": "COMMIT", "rollback": "ROLLBACK"}


class SQLAssertionError(AssertionError):
    """Captured SQL did not meet an assertion; the message shows what was captured."""


class EmptyCaptureWarning(UserWarning):
    """An assertion passed on a capture that saw no SQL at all: most likely the wrong engine."""


# Public in sqlecho.testing: say so in tracebacks.
SQLAssertionError.__module__ = "sqlecho.testing"
EmptyCaptureWarning.__module__ = "sqlecho.testing"


def warn_if_empty(cap: Capture, function: str) -> None:
    """Warn when ``function`` passed on a capture that most likely watched the wrong engine: it
    heard nothing, or only schema changes and connection set-up while other engines ran queries.
    A test that watches another engine than the code uses passes every zero count vacuously."""
    wrong = cap.wrong_engine()
    if wrong is not None:
        warnings.warn(
            f"{function}() passed on a capture that {wrong}: "
            "is the code under test using another engine? capture() with no target watches every "
            "engine; capture(..., strict=True) makes this an error",
            EmptyCaptureWarning,
            stacklevel=3,
        )


def require_capture(value: object, function: str) -> None:
    """A clear message for the usual slips: passing the engine, or ``cap.statements``, or a
    capture that was never started (``cap = capture(engine)`` without ``with``)."""
    if not isinstance(value, Capture):
        raise TypeError(
            f"{function}() takes the Capture of `with capture(engine) as cap:`, not {type(value).__name__}"
        )
    if not value.started:
        raise RuntimeError(
            f"{function}() got a Capture that was never started: "
            "use it as `with capture(engine) as cap:` and assert on it inside or after the block"
        )


def prefix(info: str | None) -> str:
    """The user's ``info=`` message as the first line of a failure ("" without one)."""
    return f"{info}\n" if info else ""


def location(record: Event) -> str:
    """``file:line`` of the code that caused ``record``, or ``?`` when none was on the stack;
    ``(parent rows)`` after it when that is where the objects it loads for were loaded."""
    where = location_of(record.get("file"), record.get("line"))
    return f"{where} (parent rows)" if record.get("located") == "parent rows" else where


def location_of(file: str | None, line: int | None) -> str:
    """``file:line``, or ``?`` when no file of the user's code was on the stack."""
    return "?" if file is None else f"{file}:{line}"


def params_text(parameters: object) -> str:
    """Parameters as a Python literal, the way a test would write them."""
    return repr(parameters)


def listing(
    source: Capture | Iterable[Event],
    *,
    params: bool = False,
    transactions: bool = False,
    limit: int = LIMIT,
) -> str:
    """Statements numbered as in ``Capture.statements``, each with ``file:line`` and its cause.

    Args:
        source: a Capture, or events as ``Capture.events`` gives them.
        params: show each statement's parameters on the line below it.
        transactions: show BEGIN/COMMIT/ROLLBACK (unnumbered) where they happened.
        limit: statements to show at most; a last line says how many were left out.

    Returns:
        Lines without a heading, or ``  (none)`` when nothing was captured.
    """
    events = source.events if isinstance(source, Capture) else list(source)
    rows: list[tuple[str, str, str, str]] = []  # (number, location, cause, text)
    shown = total = 0
    for record in events:
        if is_statement(record):
            total += 1
            if shown < limit:
                shown += 1
                text = fold(record["statement"])
                if record.get("error"):
                    text += f"  -> {record['error']}"
                rows.append((f"{total}.", location(record), record.get("cause") or "", text))
                if params:
                    rows.append(("", "", "", f"params: {params_text(record['parameters'])}"))
        elif transactions and shown < limit and record["kind"] in _MARKERS:
            rows.append(("", location(record), "", _MARKERS[record["kind"]]))
    if not rows:
        return "  (none)"
    number_width = max(len(row[0]) for row in rows)
    where_width = max(len(row[1]) for row in rows)
    cause_width = max(len(row[2]) for row in rows)
    lines = [
        f"  {number:>{number_width}} {where:<{where_width}}  {cause:<{cause_width}}  {text}".rstrip()
        for number, where, cause, text in rows
    ]
    if total > shown:
        lines.append(f"  ... and {total - shown} more")
    return "\n".join(lines)


def heading(count: int) -> str:
    """``captured 3 statements:``, with the right plural."""
    return f"captured {count} statement{'' if count == 1 else 's'}:"
