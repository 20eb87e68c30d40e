"""Compare two runs of a program: as written, and with a teacher's switch flipped, on another
database, or with its code edited.

Steps are paired by their title and lines (a switch rarely changes which code runs, but an error
can end one run early; an edited program pairs cells by title, since an edit moves the lines
after it), then the statements and transaction markers of each pair are aligned like lines in a
text diff. The result says, per step of the first run, which events have no counterpart in the
other run, and a few sentences for the reader: "With expire_on_commit=False this SELECT is gone".

Two runs on different databases send the same statements in different words (``?`` against
``%(title)s::VARCHAR``): they are aligned by what each statement does (its verb and cause), and
the sentences name what the other database does differently with it (``RETURNING``, ``FOR
UPDATE``, ``OFFSET``), the statements only it sends, and the ids its objects got.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._transcript.schema import TRANSACTION_EVENTS
from ..transcript import Event, Step

__all__ = ["StepDiff", "TranscriptDiff", "database_label", "diff_transcripts", "variant_label"]

_COMPARED = frozenset({"sql", *TRANSACTION_EVENTS})
_MAX_SENTENCES = 3


@dataclass(frozen=True)
class StepDiff:
    """How one step of run A compares with its counterpart in run B."""

    a_index: int | None
    """0-based step of run A (None: a step only B has)."""
    b_index: int | None
    """0-based step of run B (None: B never got there)."""
    only_a: tuple[int, ...] = ()
    """Indexes into A's step events: statements and markers that B does not have."""
    only_b: tuple[int, ...] = ()
    """Indexes into B's step events that A does not have."""
    notes: tuple[str, ...] = ()
    """Sentences for the reader, in the terms of the switch."""

    @property
    def same(self) -> bool:
        """True when the two runs did exactly the same SQL in this step."""
        return not (self.only_a or self.only_b or self.notes)


@dataclass(frozen=True)
class TranscriptDiff:
    """Step-by-step comparison of two runs of one program."""

    label: str
    """What run B changed, e.g. ``expire_on_commit=False``."""
    steps: tuple[StepDiff, ...]

    def for_a(self, index: int) -> StepDiff:
        """The comparison for step ``index`` of run A."""
        for step in self.steps:
            if step.a_index == index:
                return step
        return StepDiff(index, None)


def variant_label(options: Mapping[str, object]) -> str:
    """``expire_on_commit=False, autoflush=False`` for the switches that are set in ``options``."""
    return (
        ", ".join(f"{name}={value}" for name, value in options.items() if value is not None)
        or "default options"
    )


_DATABASE_NAMES = {"postgresql": "PostgreSQL", None: "SQLite"}


def database_label(transcript: Mapping[str, object]) -> str:
    """``PostgreSQL`` for a run on PostgreSQL (its header's ``database``), else ``SQLite``."""
    database = transcript.get("database")
    return _DATABASE_NAMES.get(database.get("name") if isinstance(database, Mapping) else None, "SQLite")


def _step_key(step: Step) -> tuple[object, ...]:
    return step.get("title"), tuple(step["lines"])


def _title_key(step: Step) -> tuple[object, ...]:
    """An edited program's cells are paired by title: an edit moves every line after it."""
    title = step.get("title")
    return (title,) if title is not None else (None, tuple(step["lines"]))


def _event_key(event: Mapping[str, object]) -> tuple[object, ...]:
    if event["kind"] != "sql":
        return (event["kind"],)
    statement = " ".join(str(event.get("statement", "")).split())
    return ("sql", statement, json.dumps(event.get("parameters"), sort_keys=True))


def _meaning_key(event: Event) -> tuple[object, ...]:
    """What a statement does, whatever the database's words for it: verb and cause."""
    if event["kind"] != "sql":
        return (event["kind"],)
    return ("sql", _verb(event), event.get("cause"))


# What a database may add to a statement, and how to say it.
_FEATURES = (
    (re.compile(r"\bRETURNING\b", re.IGNORECASE), "returns the new row's values itself (RETURNING)"),
    (re.compile(r"\bFOR\s+UPDATE\b", re.IGNORECASE), "locks the rows it reads (FOR UPDATE)"),
    (re.compile(r"\bOFFSET\b", re.IGNORECASE), "has an OFFSET"),
)


def _feature_notes(pairs: Sequence[tuple[Event, Event]], label: str, other: str) -> list[str]:
    """Sentences for statements that do the same thing on both databases in other words."""
    notes: list[str] = []
    for event_a, event_b in pairs:
        text_a, text_b = str(event_a.get("statement", "")), str(event_b.get("statement", ""))
        for pattern, meaning in _FEATURES:
            has_a, has_b = bool(pattern.search(text_a)), bool(pattern.search(text_b))
            if has_a == has_b:
                continue
            where = _describe(event_b)
            note = (
                f"On {label} this {where} {meaning}; on {other} it does not."
                if has_b
                else f"On {other} this {where} {meaning}; on {label} it does not."
            )
            if note not in notes:
                notes.append(note)
    return notes[:_MAX_SENTENCES]


def _verb(event: Mapping[str, object]) -> str:
    if event["kind"] != "sql":
        return str(event["kind"]).upper()
    words = str(event.get("statement", "")).split()
    return words[0].upper() if words else "statement"


def _describe(event: Mapping[str, object]) -> str:
    """``SELECT (load expired Hero#1, line 12)``: short enough for a sentence."""
    details = [str(event["cause"])] if event.get("cause") else []
    if event.get("line") is not None:
        details.append(f"line {event['line']}")
    return _verb(event) + (f" ({', '.join(details)})" if details else "")


def _sentences(events: Sequence[Mapping[str, object]], label: str, gone: bool) -> list[str]:
    if not events:
        return []
    if len(events) > _MAX_SENTENCES:
        verbs = Counter(_verb(event) for event in events)
        counted = ", ".join(f"{count} {verb}" for verb, count in verbs.items())
        return [
            f"With {label}, {len(events)} statements {'are gone' if gone else 'run in addition'}: {counted}."
        ]
    if gone:
        return [f"With {label} this {_describe(event)} is gone." for event in events]
    return [f"With {label} there is an extra {_describe(event)}." for event in events]


def _object_notes(a: Step, b: Step, label: str) -> list[str]:
    """Objects whose state, identity or expiry differs between the runs, one sentence per kind
    of difference."""
    others = {obj["label"]: obj for obj in b["objects"]}
    kept: list[str] = []
    expired: list[str] = []
    states: list[str] = []
    for obj in a["objects"]:
        other = others.get(obj["label"])
        if other is None:
            continue
        if obj["state"] != other["state"]:
            states.append(f"{obj['label']} is {other['state']} instead of {obj['state']}")
        elif (mine := obj.get("identity")) and (theirs := other.get("identity")) and mine != theirs:
            shown = ", ".join(json.dumps(value) for value in theirs)
            was = ", ".join(json.dumps(value) for value in mine)
            states.append(f"{obj['label']} has the key {shown} instead of {was}")
        elif obj["expired"] and not other["expired"]:
            kept.append(obj["label"])
        elif other["expired"] and not obj["expired"]:
            expired.append(obj["label"])
    notes = [f"With {label}, {text}." for text in states[:_MAX_SENTENCES]]
    if kept:
        verb = "keeps its" if len(kept) == 1 else "keep their"
        notes.append(f"With {label}, {_names(kept)} {verb} loaded values: nothing is expired.")
    if expired:
        notes.append(
            f"With {label}, {_names(expired)} {'has' if len(expired) == 1 else 'have'} expired attributes."
        )
    return notes


def _names(labels: Sequence[str]) -> str:
    shown = ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")
    return shown


def _error_note(a: Step, b: Step, label: str) -> list[str]:
    error_a, error_b = a.get("error"), b.get("error")
    type_a = error_a["type"] if error_a else None
    type_b = error_b["type"] if error_b else None
    if type_a == type_b:
        return []
    if type_b is None:
        return [f"With {label} this step raises no error."]
    return [f"With {label} this step raises {type_b}."]


def _cause_notes(pairs: Sequence[tuple[Event, Event]], label: str) -> list[str]:
    """Sentences for a statement both runs send, each for another reason (an edit that refreshes
    before a read: the same SELECT, sent by the refresh instead of the expired attribute)."""
    notes = []
    for event_a, event_b in pairs:
        cause_a, cause_b = event_a.get("cause"), event_b.get("cause")
        if cause_a and cause_b and cause_a != cause_b:
            where = f" (line {event_b['line']})" if event_b.get("line") is not None else ""
            notes.append(f"With {label} this {_verb(event_b)}{where} is sent by {cause_b}, not by {cause_a}.")
    return notes[:_MAX_SENTENCES]


def _printed(step: Step) -> str:
    return "".join(str(event.get("text", "")) for event in step["events"] if event["kind"] == "output")


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return json.dumps(text if len(text) <= 60 else text[:57] + "...", ensure_ascii=False)


def _output_note(a: Step, b: Step, label: str) -> list[str]:
    """What an edited step prints instead, when it prints something else."""
    printed_a, printed_b = _printed(a), _printed(b)
    if printed_a == printed_b:
        return []
    if not printed_b:
        return [f"With {label} this step prints nothing (as written: {_shown(printed_a)})."]
    was = f"instead of {_shown(printed_a)}" if printed_a else "where it printed nothing"
    return [f"With {label} this step prints {_shown(printed_b)}, {was}."]


def _compare_step(
    a: Step,
    b: Step,
    ia: int,
    ib: int,
    label: str,
    previous: tuple[Step, Step] | None,
    databases: tuple[str, str] | None = None,
    edited: bool = False,
) -> StepDiff:
    events_a = [(index, event) for index, event in enumerate(a["events"]) if event["kind"] in _COMPARED]
    events_b = [(index, event) for index, event in enumerate(b["events"]) if event["kind"] in _COMPARED]
    key = _meaning_key if databases else _event_key
    matcher = difflib.SequenceMatcher(
        None, [key(e) for _, e in events_a], [key(e) for _, e in events_b], autojunk=False
    )
    only_a: list[int] = []
    only_b: list[int] = []
    same: list[tuple[Event, Event]] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            same += [(ea, eb) for (_, ea), (_, eb) in zip(events_a[a1:a2], events_b[b1:b2], strict=True)]
        if tag in ("delete", "replace"):
            only_a.extend(index for index, _ in events_a[a1:a2])
        if tag in ("insert", "replace"):
            only_b.extend(index for index, _ in events_b[b1:b2])
    gone = [a["events"][index] for index in only_a]
    extra = [b["events"][index] for index in only_b]
    notes = _sentences(gone, label, gone=True) + _sentences(extra, label, gone=False)
    if databases:
        notes += _feature_notes(same, *databases)
    if edited:  # an edit changes why a statement runs and what a step prints, not only the SQL
        notes += _cause_notes(same, label) + _output_note(a, b, label)
    # An object difference is news on the step where it appears, not on every step after it.
    seen = set(_object_notes(*previous, label)) if previous else set()
    notes += [note for note in _object_notes(a, b, label) if note not in seen] + _error_note(a, b, label)
    return StepDiff(ia, ib, tuple(only_a), tuple(only_b), tuple(notes))


def diff_transcripts(
    a: Mapping[str, Any], b: Mapping[str, Any], *, label: str | None = None, edited: bool = False
) -> TranscriptDiff:
    """Compare run A (as written) with run B (with switches, on another database, or edited),
    step by step.

    Args:
        a: the reference transcript.
        b: the transcript of the same program with other options (its ``options`` name the
            switch), on another database (its header's ``database``), or of an edited copy.
        label: what B changed, for the sentences (default: from B's options or database).
        edited: B's program is an edited copy of A's: cells are paired by title.
    """
    databases = None
    if database_label(a) != database_label(b):
        databases = (database_label(b), database_label(a))
        label = label or databases[0]
    label = label or variant_label(b.get("options") or {})
    steps_a, steps_b = a["steps"], b["steps"]
    step_key = _title_key if edited else _step_key
    matcher = difflib.SequenceMatcher(
        None, [step_key(step) for step in steps_a], [step_key(step) for step in steps_b], autojunk=False
    )
    pairs: list[StepDiff] = []
    previous: tuple[Step, Step] | None = None
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and a2 - a1 == b2 - b1):
            for offset in range(a2 - a1):
                ia, ib = a1 + offset, b1 + offset
                pairs.append(
                    _compare_step(steps_a[ia], steps_b[ib], ia, ib, label, previous, databases, edited)
                )
                previous = (steps_a[ia], steps_b[ib])
            continue
        for ia in range(a1, a2):
            pairs.append(StepDiff(ia, None, notes=(f"With {label} the program never gets to this step.",)))
        for ib in range(b1, b2):
            pairs.append(StepDiff(None, ib, notes=(f"With {label} the program runs an extra step here.",)))
    return TranscriptDiff(label, tuple(pairs))
