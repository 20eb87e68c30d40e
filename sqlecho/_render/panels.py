"""HTML for what a step left behind: object cards, the Session, and the committed tables.

Each panel compares the step with the one before it and marks what changed: a new object, a new
state, a changed or newly loaded value, newly expired attributes, table rows that appeared,
changed or vanished. Colour is never the only signal: every mark also carries a word or a shape,
so the panels read for colour-blind readers and in the dark theme alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._transcript.derive import row_changes
from ..transcript import ObjectRecord, Step
from .code import esc, py_repr

__all__ = [
    "MAX_OBJECTS_SHOWN",
    "MAX_ROWS_SHOWN",
    "STATES",
    "render_objects",
    "render_session",
    "render_tables",
    "render_variables",
    "state_badge",
]

MAX_OBJECTS_SHOWN = 60
MAX_ROWS_SHOWN = 50

# state -> (shape, what it means). The shape tells the states apart without colour.
STATES: dict[str, tuple[str, str]] = {
    "transient": ("○", "transient: a plain Python object, not in any session"),
    "pending": ("◔", "pending: added to a session; its INSERT has not been flushed yet"),
    "persistent": ("●", "persistent: in a session, with a row in the database"),
    "deleted": ("✕", "deleted: its DELETE was flushed; the transaction is not committed yet"),
    "detached": ("◇", "detached: has a database identity but no session"),
}


def state_badge(state: str) -> str:
    """A badge with the state's shape and word, coloured per state."""
    shape, meaning = STATES.get(state, ("?", state))
    return (
        f'<span class="sqe-badge sqe-st-{esc(state)}" title="{esc(meaning)}">'
        f'<span aria-hidden="true">{shape}</span> {esc(state)}</span>'
    )


# What reading an attribute that is not in __dict__ does, per state: expired attributes, then
# relationships never loaded. A card must not promise a load that would raise.
_EXPIRED_ACCESS = {
    "persistent": "next access loads",
    "detached": "access raises DetachedInstanceError: there is no session to load them from",
}
_UNLOADED_ACCESS = {
    "persistent": "loads on first access",
    "detached": "access raises DetachedInstanceError: a lazy load needs a session",
    "pending": "access gives None or an empty collection: no row to load from yet",
    "transient": "access gives None or an empty collection: nothing is loaded",
}


def _value(value: object, labels: set[str]) -> str:
    """A value; references to other objects (their labels) are drawn as labels, not strings."""
    if isinstance(value, str) and value in labels:
        return f'<span class="sqe-ref">→ {esc(value)}</span>'
    if isinstance(value, list) and value and all(isinstance(item, str) and item in labels for item in value):
        return '<span class="sqe-ref">→ ' + ", ".join(esc(item) for item in value) + "</span>"
    return esc(py_repr(value))


def _ordered(names: set[str], order: Sequence[str]) -> list[str]:
    return [name for name in order if name in names] + sorted(names - set(order))


def _card(obj: ObjectRecord, before: ObjectRecord | None, order: Sequence[str], labels: set[str]) -> str:
    values, expired, unloaded = obj["values"], set(obj["expired"]), set(obj.get("unloaded", ()))
    tags, classes = [], ["sqe-card", f"sqe-card-{esc(obj['state'])}"]
    if before is None:
        tags.append('<span class="sqe-tag sqe-tag-new">first seen</span>')
        classes.append("sqe-changed")
    elif before["state"] != obj["state"]:
        tags.append(f'<span class="sqe-tag">was {esc(before["state"])}</span>')
        classes.append("sqe-changed")
    rows = []
    for name in [name for name in order if name in values] + [name for name in values if name not in order]:
        cls, note = "", ""
        if before is not None and name in before["values"] and before["values"][name] != values[name]:
            cls, note = "sqe-v-changed", f"was {py_repr(before['values'][name], 40)}"
        elif before is not None and name not in before["values"]:
            cls, note = "sqe-v-loaded", "just loaded"
        mark = f' <span class="sqe-vnote">{esc(note)}</span>' if note else ""
        rows.append(
            f'<tr class="{cls}"><th>{esc(name)}</th><td>{_value(values[name], labels)}{mark}</td></tr>'
        )
    if expired:
        fresh = expired - set(before["expired"]) if before is not None else set()
        shown = ", ".join(
            f'<span class="sqe-new-expired">{esc(name)}</span>' if name in fresh else esc(name)
            for name in _ordered(expired, order)
        )
        note = "newly expired: " if fresh else ""
        access = _EXPIRED_ACCESS.get(obj["state"], "next access loads")
        raises = " sqe-v-raises" if "raises" in access else ""
        rows.append(
            f'<tr class="sqe-v-expired{" sqe-v-new-expired" if fresh else ""}{raises}"><th>expired</th>'
            f'<td>{shown} <span class="sqe-vnote">{note}{esc(access)}</span></td></tr>'
        )
    if unloaded:
        shown = ", ".join(esc(name) for name in _ordered(unloaded, order))
        access = _UNLOADED_ACCESS.get(obj["state"], "loads on first access")
        raises = " sqe-v-raises" if "raises" in access else ""
        rows.append(
            f'<tr class="sqe-v-unloaded{raises}"><th>not loaded</th><td>{shown} '
            f'<span class="sqe-vnote">{esc(access)}</span></td></tr>'
        )
    names_line = ", ".join(obj["names"]) if obj["names"] else "no variable"
    held = obj.get("session")
    where = (
        f'<span class="sqe-held" title="the session that holds it">in <b>{esc(held)}</b></span>'
        if held
        else ""
    )
    head = (
        f'<div class="sqe-card-head"><span class="sqe-label">{esc(obj["label"])}</span>'
        f"{state_badge(obj['state'])}{''.join(tags)}</div>"
        f'<div class="sqe-names"><span title="variables that refer to it">{esc(names_line)}</span>{where}</div>'
    )
    table = f'<table class="sqe-vals">{"".join(rows)}</table>' if rows else ""
    return f'<div class="{" ".join(classes)}">{head}{table}</div>'


def render_objects(
    step: Step,
    previous: Step | None,
    order: Mapping[str, Sequence[str]] | None = None,
    *,
    limit: int = MAX_OBJECTS_SHOWN,
) -> str:
    """A card per ORM object after ``step``, with what changed since ``previous`` marked.

    Args:
        step: the step.
        previous: the step before (None for the first step: nothing is marked).
        order: attribute order per class (:func:`~sqlecho._transcript.derive.attribute_order`).
        limit: cards drawn at most.
    """
    objects = step["objects"]
    if not objects:
        return '<div class="sqe-objs sqe-empty">No ORM objects yet.</div>'
    before = {obj["label"]: obj for obj in previous["objects"]} if previous is not None else None
    labels = {obj["label"] for obj in objects}
    changed, kept, folded = [], [], []
    for obj in objects:
        prior = before.get(obj["label"]) if before is not None else obj
        if prior is None or prior != obj:
            changed.append((obj, prior))  # what this step did comes first
        elif obj["names"]:
            kept.append((obj, prior))
        else:
            folded.append((obj, prior))  # unchanged and no variable refers to it: folded away
    shown = [*changed, *kept, *folded][:limit]
    cards = [_card(obj, prior, (order or {}).get(obj["class"], ()), labels) for obj, prior in shown]
    visible = len(changed) + len(kept)
    rest = cards[visible:]
    html = "".join(cards[:visible])
    if rest:
        word = "object" if len(folded) == 1 else "objects"
        html += (
            f'<details class="sqe-fold"><summary>{len(folded)} more {word} '
            f'<span class="sqe-note">unchanged, no variable refers to them</span></summary>{"".join(rest)}</details>'
        )
    if len(objects) > limit:
        html += f'<div class="sqe-more">… and {len(objects) - limit} more objects</div>'
    return f'<div class="sqe-objs">{html}</div>'


def render_variables(step: Step, previous: Step | None) -> str:
    """The program's plain values after the step, one line, those that changed marked."""
    variables = step.get("variables") or {}
    if not variables:
        return ""
    before = (previous.get("variables") or {}) if previous is not None else dict(variables)
    parts = []
    for name, text in variables.items():
        fresh = before.get(name) != text
        cls = "sqe-var sqe-var-changed" if fresh else "sqe-var"
        mark = '<span class="sqe-visually-hidden"> (changed)</span>' if fresh else ""
        parts.append(f'<span class="{cls}"><b>{esc(name)}</b> = <code>{esc(text)}</code>{mark}</span>')
    return (
        '<div class="sqe-vars" title="the program\'s plain values after this step">'
        f'<span class="sqe-vars-h">Variables</span>{"".join(parts)}</div>'
    )


def _chips(labels: Sequence[str], before: Sequence[str] | None) -> str:
    if not labels:
        return '<span class="sqe-none">none</span>'
    old = set(before) if before is not None else set(labels)
    return "".join(
        f'<span class="sqe-chip{" sqe-chip-new" if label not in old else ""}">{esc(label)}</span>'
        for label in labels
    )


def render_session(step: Step, previous: Step | None, *, had_session: bool = False) -> str:
    """Every session's new/dirty/deleted collections and identity map, each headed by its name;
    new entries marked. A transcript without ``sessions`` shows its one ``session``, unnamed.
    ``had_session``: an earlier step had one (none now means it was closed, not "not yet")."""
    none = (
        '<div class="sqe-session sqe-empty">No open Session: the one before was closed.</div>'
        if had_session
        else '<div class="sqe-session sqe-empty">No Session yet.</div>'
    )
    sessions = step.get("sessions")
    if sessions is None:
        session = step.get("session")
        if session is None:
            return none
        return _session_table(session, (previous.get("session") or {}) if previous is not None else None)
    if not sessions:
        return none
    earlier = (
        {item["label"]: item for item in (previous.get("sessions") or [])} if previous is not None else None
    )
    blocks = []
    for session in sessions:
        prior: Mapping[str, Any] | None = (
            (earlier.get(session["label"]) or {}) if earlier is not None else None
        )
        name, label = str(session["name"]), str(session["label"])
        also = f' <span class="sqe-note">{esc(label)}</span>' if name != label else ""
        blocks.append(
            f'<div class="sqe-session-block"><div class="sqe-session-name">'
            f'<span class="sqe-label">{esc(name)}</span>{also}</div>{_session_table(session, prior)}</div>'
        )
    return "".join(blocks)


def _session_table(session: Mapping[str, Any], prior: Mapping[str, Any] | None) -> str:
    rows = []
    for key, title in (
        ("new", "new"),
        ("dirty", "dirty"),
        ("deleted", "deleted"),
        ("identity_map", "identity map"),
    ):
        before = prior.get(key, []) if prior is not None else None
        rows.append(f"<tr><th>{title}</th><td>{_chips(session.get(key, []), before)}</td></tr>")
    return f'<table class="sqe-session">{"".join(rows)}</table>'


def render_tables(step: Step, previous: Step | None, *, limit: int = MAX_ROWS_SHOWN) -> str:
    """The committed rows of every table, as another connection sees them; changes marked."""
    tables = step.get("tables") or {}
    if not tables:
        return '<div class="sqe-tables sqe-empty">No tables yet.</div>'
    prior_tables = (previous.get("tables") or {}) if previous is not None else {}
    blocks = []
    for name, table in tables.items():
        columns, rows = table["columns"], table["rows"]
        before = prior_tables.get(name, {"columns": columns, "rows": []}) if previous is not None else None
        marks, gone = row_changes(table, before)
        tagged = any(marks) or bool(gone)  # a "what changed" column only when something did
        head = "".join(f"<th>{esc(column)}</th>" for column in columns) + ("<th></th>" if tagged else "")
        width = len(columns) + tagged
        body = []
        for row, mark in zip(rows[:limit], marks, strict=False):
            cells = "".join(f"<td>{esc(py_repr(value, 40))}</td>" for value in row)
            if not tagged:
                body.append(f"<tr>{cells}</tr>")
            elif mark:
                body.append(f'<tr class="sqe-row-{mark}">{cells}<td class="sqe-rowtag">{mark}</td></tr>')
            else:
                body.append(f'<tr>{cells}<td class="sqe-rowtag"></td></tr>')
        for row in gone[:limit]:
            cells = "".join(f"<td>{esc(py_repr(value, 40))}</td>" for value in row)
            body.append(f'<tr class="sqe-row-gone">{cells}<td class="sqe-rowtag">removed</td></tr>')
        if len(rows) > limit:
            body.append(f'<tr><td colspan="{width}">… {len(rows) - limit} more rows</td></tr>')
        if not rows and not gone:
            body.append(f'<tr><td colspan="{width}" class="sqe-none">no committed rows</td></tr>')
        blocks.append(
            f'<div class="sqe-table"><div class="sqe-table-name">{esc(name)}</div>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )
    return f'<div class="sqe-tables">{"".join(blocks)}</div>'
