"""The terminal form of a transcript: an annotated echo log.

Each step prints its code, then what it caused in order (BEGIN, each statement with its
parameters and cause, COMMIT/ROLLBACK, state changes, printed output), then the objects.
"""

from __future__ import annotations

import json
from typing import Any

from .plain import terminal_safe

__all__ = ["format_event", "format_transcript"]

_RULE = "─"


def _one_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _statement(text: str) -> str:
    lines = [line.rstrip() for line in text.strip("\n").splitlines() if line.strip()]
    return "\n    ".join(lines)


def format_event(event: dict[str, Any]) -> str:
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


def _object(obj: dict[str, Any]) -> str:
    names = f" ({', '.join(obj['names'])})" if obj["names"] else ""
    values = " ".join(f"{key}={_one_line(value)}" for key, value in obj["values"].items())
    expired = f"  expired: {', '.join(obj['expired'])}" if obj["expired"] else ""
    return f"  {obj['label']}{names} [{obj['state']}] {values}{expired}".rstrip()


_CODE_LINES = 60
"""Lines of code printed for one step; the rest is counted."""


def format_transcript(transcript: dict[str, Any], source: str | None = None) -> str:
    """The whole transcript as text; ``source`` (the program text) adds the code of each step.

    Control characters other than newline and tab are shown as ``\\xNN``, never written as such.
    """
    code_lines = source.splitlines() if source is not None else []
    out: list[str] = []
    steps = transcript["steps"]
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
        out.extend(f"{number:4d} | {code_lines[number - 1]}" for number in shown[:_CODE_LINES])
        if len(shown) > _CODE_LINES:
            out.append(f"     | ... {len(shown) - _CODE_LINES} more lines")
        out.extend(format_event(event) for event in step["events"])
        if step["objects"]:
            out.append("  objects:")
            out.extend("  " + _object(obj) for obj in step["objects"])
        error = step.get("error")
        if error:
            label = "expected error" if error.get("expected") else "error"
            out.append(f"  {label} at line {error.get('line')}: {error['type']}: {error['message']}")
        out.append("")
    truncated = transcript.get("truncated")
    if truncated:
        out.append(f"(transcript cut short: {_one_line(truncated)})")
    out.append(f"status: {transcript.get('status', 'ok')}")
    # Everything above is the program's (its output, titles, SQL, values, errors): its escape
    # sequences must not reach the reader's terminal (window title, OSC 52 clipboard).
    return terminal_safe("\n".join(out))
