"""The terminal form of a transcript: an annotated echo log.

Each step prints its code, then what it caused in order (BEGIN, each statement with its
parameters and cause, COMMIT/ROLLBACK, state changes, printed output), then the objects (with
their expired and not-yet-loaded attributes), the session's collections and identity map, and
the committed rows of every table that changed: what a lesson's narrative points at in the app.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._transcript.derive import row_changes
from ..transcript import Event, ObjectRecord, TableRecord
from .explain import describe_tampering
from .plain import terminal_safe

__all__ = ["format_event", "format_transcript"]

_RULE = "─"
MAX_TABLE_ROWS = 20
_ROW_SIGNS = {"": " ", "new": "+", "changed": "~"}
"""Rows printed per changed table; the rest are counted."""


def _one_line(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _statement(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").splitlines() if line.strip()]
    return "\n    ".join(lines)


def format_event(event: Event) -> str:
    """One event as one or a few lines, echo style."""
    kind = event["kind"]
    where = f"  (line {event['line']})" if event.get("line") is not None else ""
    if kind == "begin":
        return f"  BEGIN (implicit){where}"
    if kind in ("commit", "rollback"):
        return f"  {kind.upper()}{where}"
    if kind == "sql":
        cause = event.get("cause")
        head = f"  {_statement(event['statement'])}"
        meta = [f"cause: {cause}"] if cause else []
        if event.get("batch"):
            meta.append("insertmanyvalues batch {}/{}".format(*event["batch"]))
        params = _one_line(event["parameters"])
        detail = f"  [{'executemany ' if event['executemany'] else ''}parameters {params}; {'; '.join(meta)}]"
        text = f"{head}\n  {detail.strip()}{where}"
        if event.get("error"):
            text += f"\n  !! {event['error']}"
        return text
    if kind == "transition":
        return f"  ~ {event['object']}: {event['from']} -> {event['to']}{where}"
    if kind == "expire":
        return f"  ~ {event['object']}: expired {', '.join(event['attributes']) or '(nothing)'}{where}"
    if kind == "refresh":
        attrs = event.get("attributes")
        return f"  ~ {event['object']}: refreshed{' ' + ', '.join(attrs) if attrs else ''}{where}"
    if kind == "load":
        return f"  ~ {event['object']}: loaded from the database{where}"
    if kind == "output":
        prefix = "  ! " if event.get("stream") == "stderr" else "  > "
        return "\n".join(prefix + line for line in event["text"].rstrip("\n").split("\n"))
    if kind == "exit":
        return f"  (the program exited with status {event['code']})"
    return f"  {kind}: {_one_line(event)}"


def _object(obj: ObjectRecord) -> str:
    names = f" ({', '.join(obj['names'])})" if obj["names"] else ""
    values = " ".join(f"{key}={_one_line(value)}" for key, value in obj["values"].items())
    expired = f"  expired: {', '.join(obj['expired'])}" if obj["expired"] else ""
    unloaded = obj.get("unloaded") or []
    not_loaded = f"  not loaded: {', '.join(unloaded)}" if unloaded else ""
    return f"  {obj['label']}{names} [{obj['state']}] {values}{expired}{not_loaded}".rstrip()


def _session(session: Mapping[str, list[str]]) -> str:
    """The session's new/dirty/deleted collections and identity map, on one line."""
    parts = []
    for key, title in (
        ("new", "new"),
        ("dirty", "dirty"),
        ("deleted", "deleted"),
        ("identity_map", "identity map"),
    ):
        parts.append(f"{title} [{', '.join(session.get(key, []))}]")
    return "  session: " + "  ".join(parts)


def _tables(tables: Mapping[str, TableRecord], previous: Mapping[str, TableRecord] | None) -> list[str]:
    """The tables whose committed rows differ from ``previous`` (every table on the first step),
    each with its rows marked new (+), changed (~) or removed (-)."""
    lines: list[str] = []
    for name, table in tables.items():
        old = previous.get(name) if previous is not None else None
        if old == table:
            continue
        rows = table["rows"]
        total = table.get("total_rows", len(rows))
        count = "no rows" if total == 0 else f"{total} row{'s' if total != 1 else ''}"
        lines.append(f"    {name} ({', '.join(table['columns'])}): {count}")
        # Rows are matched with their previous version by primary key (whole rows without one).
        marks, gone = row_changes(table, old)
        for row, mark in zip(rows[:MAX_TABLE_ROWS], marks, strict=False):
            lines.append(f"      {_ROW_SIGNS[mark]} {_one_line(row)}")
        if len(rows) > MAX_TABLE_ROWS or total > len(rows):
            lines.append(f"        ... {total - min(len(rows), MAX_TABLE_ROWS)} more")
        lines.extend(f"      - {_one_line(row)}" for row in gone)
    for name in previous or {}:
        if name not in tables:
            lines.append(f"    {name}: gone")
    if lines:
        lines.insert(0, "  committed rows (changed):")
    return lines


_CODE_LINES = 60
"""Lines of code printed for one step; the rest is counted."""
_CODE_WIDTH = 300
"""Characters of one code line printed; the rest is counted."""


def _cut(line: str) -> str:
    return line if len(line) <= _CODE_WIDTH else f"{line[:_CODE_WIDTH]}... ({len(line) - _CODE_WIDTH} more)"


def format_transcript(transcript: dict[str, Any], source: str | None = None) -> str:
    """The whole transcript as text; ``source`` (the program text) adds the code of each step.

    Control characters other than newline and tab are shown as ``\\xNN``, never written as such.
    """
    code_lines = source.splitlines() if source is not None else []
    out: list[str] = []
    steps = transcript["steps"]
    previous_tables: dict[str, TableRecord] | None = None
    for step in steps:
        first, last = step["lines"]
        title = f" · {step['title']}" if step.get("title") else ""
        where = f"line {first}" if first == last else f"lines {first}-{last}"
        out.append(f"{_RULE * 2} Step {step['index'] + 1}/{len(steps)}{title} · {where} {_RULE * 20}")
        if step.get("narrative"):
            out.extend("  # " + line for line in step["narrative"].splitlines())
        # Within the program text, and at most _CODE_LINES of it: a step's line range bounds
        # neither the loop nor the output (a long cell, or a forged range on every step).
        shown = range(max(first, 1), min(last, len(code_lines)) + 1)
        out.extend(f"{number:4d} | {_cut(code_lines[number - 1])}" for number in shown[:_CODE_LINES])
        if len(shown) > _CODE_LINES:
            out.append(f"     | ... {len(shown) - _CODE_LINES} more lines")
        out.extend(format_event(event) for event in step["events"])
        if step["objects"]:
            out.append("  objects:")
            out.extend("  " + _object(obj) for obj in step["objects"])
        if step.get("session") is not None:
            out.append(_session(step["session"]))
        out.extend(_tables(step.get("tables") or {}, previous_tables))
        previous_tables = step.get("tables") or {}
        error = step.get("error")
        if error:
            label = "expected error" if error.get("expected") else "error"
            out.append(f"  {label} at line {error.get('line')}: {error['type']}: {error['message']}")
        out.append("")
    truncated = transcript.get("truncated")
    if truncated:
        out.append(f"(transcript cut short: {_one_line(truncated)})")
    out.append(f"status: {transcript.get('status', 'ok')}")
    tampered = transcript.get("tampered")
    if tampered:
        out.append(f"TAMPERED: {describe_tampering(tampered).removeprefix('Tampered: ')}")
    # Everything above is the program's (its output, titles, SQL, values, errors): its escape
    # sequences must not reach the reader's terminal (window title, OSC 52 clipboard).
    return terminal_safe("\n".join(out))
