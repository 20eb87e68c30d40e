"""HTML fragments for one step of a transcript: the code beside the SQL, and the error box.

Pure functions from transcript dicts to HTML strings, so the app stays a thin layout and the
tests need no browser. Everything that comes from the transcript is escaped (see
:mod:`sqlecho._render.code`); class names and fixed words are the only markup added here.
Objects, the session and the tables are drawn by :mod:`sqlecho._render.panels`, and a whole
step is put together by :mod:`sqlecho._render.step`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

from .._transcript.counting import count as count_statements
from .._transcript.derive import statement_counts
from .._transcript.schema import LIFECYCLE_EVENTS, TRANSACTION_EVENTS
from ..transcript import Event, Step
from .code import esc, format_sql, highlight_sql, py_repr
from .explain import clean_message, explain
from .panels import state_badge

__all__ = [
    "MAX_EVENTS_SHOWN",
    "cause_chip",
    "render_code",
    "render_error",
    "render_events",
    "sql_total",
]

MAX_EVENTS_SHOWN = 400
"""Events drawn per step; a loop that sends thousands of statements is summarised past this."""

_MAX_PARAMETER_ROWS = 8

# First word of a cause -> (css class, what it means for the reader).
_CAUSES: dict[str, tuple[str, str]] = {
    "query": ("query", "Your code ran an ORM query."),
    "get": ("query", "session.get() found no such object in the identity map, so it asked the database."),
    "execute": ("query", "Your code ran a textual or Core statement."),
    "bulk": ("query", "Your code ran an ORM-enabled UPDATE, DELETE or INSERT statement."),
    "event": ("other", "An event listener of your program sent this statement."),
    "flush": ("flush", "flush() or commit() sent the pending changes of the Session."),
    "autoflush": ("autoflush", "The Session flushed pending changes before a query, so the query sees them."),
    "ddl": ("ddl", "Schema statements: creating or inspecting tables (create_all)."),
    "lazy": ("lazy", "The first access of a relationship loaded it."),
    "load": ("expired", "An expired attribute was read, so the row was loaded again."),
    "refresh": ("refresh", "refresh() reloaded the object from the database."),
}


def cause_chip(cause: str | None) -> str:
    """A small coloured label for why a statement ran (autoflush, lazy load Hero.team, ...)."""
    if not cause:
        return ""
    cls, meaning = _CAUSES.get(cause.split()[0], ("other", "Why SQLAlchemy sent this statement."))
    return f'<span class="sqe-cause sqe-cause-{cls}" title="{esc(meaning)}">{esc(cause)}</span>'


def render_code(
    highlighted: Sequence[str],
    step: Step,
    counts: Mapping[int, int],
    *,
    context: int = 2,
    whole: bool = False,
) -> str:
    """The program's lines with numbers, the step's lines highlighted, and statement counts.

    Args:
        highlighted: the program's lines as HTML (:func:`~sqlecho._render.code.highlight_python_lines`).
        step: the step whose lines are highlighted.
        counts: statements per line over the whole run (:func:`~sqlecho._transcript.derive.statement_counts`).
        context: lines shown before and after the step's lines (ignored when ``whole``).
        whole: show every line of the program.
    """
    first, last = step["lines"]
    here = statement_counts([step])
    error: Mapping[str, object] = step.get("error") or {}
    error_line = error.get("line")
    start, stop = (
        (1, len(highlighted)) if whole else (max(1, first - context), min(len(highlighted), last + context))
    )
    shown = list(range(start, stop + 1))
    if isinstance(error_line, int) and 1 <= error_line <= len(highlighted) and error_line not in shown:
        # The error was raised outside the step's lines (in a with block that the step leaves, or
        # in a function): its line is shown too, so the red line is the one that raised.
        around = range(max(1, error_line - 1), min(len(highlighted), error_line + 1) + 1)
        shown = sorted({*shown, *around})
    rows = []
    for position, number in enumerate(shown):
        if position and number != shown[position - 1] + 1:
            rows.append('<div class="sqe-line sqe-gap"><span class="sqe-ln">⋯</span></div>')
        classes = ["sqe-line"]
        if first <= number <= last:
            classes.append("sqe-current")
        if number == error_line:
            classes.append("sqe-error-line")
        total = counts.get(number, 0)
        if total:
            now = here.get(number, 0)
            tip = f"{total} SQL statement{'s' * (total != 1)} over the whole run, {now} in this step"
            hot = " sqe-hot" if now else ""
            count = f'<span class="sqe-count{hot}" title="{tip}">{total}</span>'
        else:
            count = '<span class="sqe-count sqe-none"></span>'
        code = highlighted[number - 1] if number <= len(highlighted) else ""
        rows.append(
            f'<div class="{" ".join(classes)}"><span class="sqe-ln">{number}</span>{count}'
            f"<code>{code or ' '}</code></div>"
        )
    if not rows:
        return '<div class="sqe-code sqe-empty">(no code)</div>'
    # Focusable: a long line scrolls sideways, and a keyboard must reach that scroll too.
    return f'<div class="sqe-code" tabindex="0" role="region" aria-label="Code">{"".join(rows)}</div>'


def _where(event: Mapping[str, object]) -> str:
    line = event.get("line")
    return f'<span class="sqe-where">line {esc(line)}</span>' if line is not None else ""


def _parameters(event: Event) -> str:
    parameters = event.get("parameters")
    if event.get("executemany"):
        rows = list(parameters or [])
        shown = "".join(f"<div>{esc(py_repr(row, 160))}</div>" for row in rows[:_MAX_PARAMETER_ROWS])
        more = (
            f"<div>… and {len(rows) - _MAX_PARAMETER_ROWS} more</div>"
            if len(rows) > _MAX_PARAMETER_ROWS
            else ""
        )
        return f'<div class="sqe-params">executemany, {len(rows)} rows:{shown}{more}</div>'
    if not parameters:
        return ""
    return f'<div class="sqe-params">parameters: {esc(py_repr(parameters, 240))}</div>'


def _sql(event: Event, marked: bool) -> str:
    meta = [cause_chip(event.get("cause")), _where(event)]
    if event.get("batch"):
        number, total = event["batch"]
        meta.append(f'<span class="sqe-note">batch {esc(number)} of {esc(total)}</span>')
    rowcount = event.get("rowcount")
    statement = str(event.get("statement", "")).lstrip().upper()
    # The driver's rowcount means "rows written" only for plain INSERT/UPDATE/DELETE; with
    # RETURNING (and for SELECT) it is -1 or 0 before the rows are fetched.
    if isinstance(rowcount, int) and rowcount >= 0 and statement.startswith(("INSERT", "UPDATE", "DELETE")):
        if "RETURNING" not in statement:
            meta.append(f'<span class="sqe-note">{rowcount} row{"s" * (rowcount != 1)}</span>')
    if marked:
        meta.append('<span class="sqe-only">only in this run</span>')
    error = f'<div class="sqe-sql-error">failed: {esc(event["error"])}</div>' if event.get("error") else ""
    cls = "sqe-ev sqe-sql sqe-marked" if marked else "sqe-ev sqe-sql"
    return (
        f'<div class="{cls}"><div class="sqe-meta">{"".join(meta)}</div>'
        f"<pre>{highlight_sql(format_sql(str(event.get('statement', ''))))}</pre>{_parameters(event)}{error}</div>"
    )


_CALM_ROLLBACK = (
    " <i>a session or connection closed (close(), or the end of its with block) and ended its open "
    "transaction; nothing committed is undone</i>"
)


def _marker(event: Event, marked: bool, calm: bool = False) -> str:
    kind = event["kind"]
    word = {"begin": "BEGIN", "commit": "COMMIT", "rollback": "ROLLBACK"}[kind]
    note = {"begin": " (implicit)", "commit": "", "rollback": _CALM_ROLLBACK if calm else ""}[kind]
    only = '<span class="sqe-only">only in this run</span>' if marked else ""
    cls = f"sqe-tx-{kind} sqe-tx-calm" if calm else f"sqe-tx-{kind}"
    return f'<div class="sqe-ev sqe-tx {cls}"><b>{word}</b>{note}{_where(event)}{only}</div>'


def _closing(event: Event, step: Step, source: Sequence[str] | None) -> bool:
    """True for the harmless ROLLBACK of closing a session: no error, no failed statement in the
    step, and a causing line that does not ask for a rollback itself."""
    if event["kind"] != "rollback" or source is None or step.get("error"):
        return False
    if any(other.get("error") for other in step["events"] if other["kind"] == "sql"):
        return False
    line = event.get("line")
    if not isinstance(line, int) or not 1 <= line <= len(source):
        return False
    return "rollback" not in source[line - 1]


def _object_events(events: Sequence[Event]) -> str:
    """One line for a run of like events (a commit expires every object at once)."""
    event, kind = events[0], events[0]["kind"]
    labels = ", ".join(f'<span class="sqe-label">{esc(item.get("object", "?"))}</span>' for item in events)
    if kind == "transition":
        text = f"{labels} {state_badge(event['from'])} → {state_badge(event['to'])}"
    elif kind == "expire":
        attributes = ", ".join(event.get("attributes") or []) or "nothing"
        text = f"{labels} expired: {esc(attributes)} <i>(next access loads)</i>"
    elif kind == "refresh":
        attributes = ", ".join(event.get("attributes") or [])
        text = f"{labels} refreshed{': ' + esc(attributes) if attributes else ''}"
    else:  # load
        text = f"{labels} loaded from the database"
    return f'<div class="sqe-ev sqe-obj">{text}{_where(event)}</div>'


def _group(index_event: tuple[int, Event]) -> tuple[object, ...]:
    """Events with the same key in a row are drawn together; others get a key of their own."""
    index, event = index_event
    kind = event["kind"]
    if kind == "output":
        return ("output",)
    if kind in LIFECYCLE_EVENTS:
        attributes = tuple(event.get("attributes") or ())
        return (kind, event.get("line"), event.get("from"), event.get("to"), attributes)
    return ("single", index)


def _output(events: Sequence[Mapping[str, object]]) -> str:
    parts = []
    for event in events:
        cls = "sqe-stderr" if event.get("stream") == "stderr" else "sqe-stdout"
        parts.append(f'<span class="{cls}">{esc(event.get("text", ""))}</span>')
    return f'<pre class="sqe-ev sqe-out" title="printed by the program">{"".join(parts)}</pre>'


def render_events(
    step: Step,
    *,
    marks: Iterable[int] = (),
    limit: int = MAX_EVENTS_SHOWN,
    source: Sequence[str] | None = None,
) -> str:
    """The step's events in order: transaction markers, statements, state changes, output.

    Args:
        step: the step.
        marks: indexes of events to mark as "only in this run" (from :mod:`sqlecho._render.diff`).
        limit: events drawn at most; the rest are counted.
        source: the program's lines; with them, the ROLLBACK of closing a session is drawn
            calmly and says why it happens.
    """
    marked = set(marks)
    events = step["events"]
    blocks: list[str] = []
    for key, run in itertools.groupby(enumerate(events[:limit]), key=_group):
        group = [event for _, event in run]
        kind = group[0]["kind"]
        if key[0] == "output":
            blocks.append(_output(group))
        elif kind == "sql":
            blocks.append(_sql(group[0], key[1] in marked))
        elif kind in TRANSACTION_EVENTS:
            blocks.append(_marker(group[0], key[1] in marked, _closing(group[0], step, source)))
        elif kind in LIFECYCLE_EVENTS:
            blocks.append(_object_events(group))
        elif kind == "exit":
            blocks.append(
                f'<div class="sqe-ev sqe-obj">The program exited (status {esc(group[0].get("code"))}).</div>'
            )
        else:
            blocks.append(f'<div class="sqe-ev sqe-obj">{esc(kind)}{_where(group[0])}</div>')
    if len(events) > limit:
        hidden = events[limit:]
        sql = count_statements(hidden)
        blocks.append(
            f'<div class="sqe-ev sqe-more">… {len(hidden)} more events ({sql} statements) not drawn here; '
            "the command line shows them all.</div>"
        )
    if not blocks:
        return '<div class="sqe-events sqe-empty">No SQL, no state change, no output in this step.</div>'
    return f'<div class="sqe-events">{"".join(blocks)}</div>'


def render_error(error: Mapping[str, object], versions: Mapping[str, object] | None = None) -> str:
    """The error box of a step: expected errors (part of the lesson) look calmer than unexpected ones."""
    expected = bool(error.get("expected"))
    explanation = explain(error, versions)
    where = f" at line {esc(error['line'])}" if error.get("line") is not None else ""
    if error.get("limit"):
        heading, cls = f"Stopped by a limit{where}", "sqe-err sqe-limit"
    elif expected:
        heading, cls = f"Expected error{where}: the lesson raises it on purpose", "sqe-err sqe-expected"
    else:
        heading, cls = f"Error{where}", "sqe-err sqe-unexpected"
    parts = [
        f'<div class="sqe-err-head">{"ⓘ" if expected else "✖"} {heading}</div>',
        f'<div class="sqe-err-msg"><b>{esc(error.get("type", "Error"))}</b>: '
        f"{esc(clean_message(str(error.get('message', ''))))}</div>",
    ]
    if explanation:
        parts.append(f'<div class="sqe-err-what">{esc(explanation.what)}</div>')
        if explanation.fix:
            parts.append(f'<div class="sqe-err-fix"><b>What to do:</b> {esc(explanation.fix)}</div>')
        if explanation.link:
            link = esc(explanation.link)
            parts.append(
                f'<div class="sqe-err-link"><a href="{link}" target="_blank" rel="noopener">'
                f"SQLAlchemy's page about this error ↗</a></div>"
            )
    return f'<div class="{cls}" role="alert">{"".join(parts)}</div>'


def sql_total(step: Step) -> int:
    """Statements in a step (for headings like "3 statements")."""
    return count_statements(step["events"])
