"""One step of a traced program as the page's HTML blocks.

The app places these blocks in columns (and keeps them for the next reader: see
:func:`sqlecho._app.traces.render_step`); everything here is pure, so the tests and the benchmark
call it without Streamlit.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from .._transcript.expect import first_expectation, without_expectations
from .._transcript.questions import claims_for
from ..transcript import Step
from .code import esc, highlight_python_lines
from .diff import StepDiff
from .events import render_code, render_error, render_events, sql_total
from .panels import render_objects, render_session, render_tables, render_variables
from .plain import md_literal

__all__ = ["StepHTML", "Traced", "diff_summary", "draw_code_only", "draw_step", "narrative_text"]


@functools.lru_cache(maxsize=64)
def _highlighted(source: str) -> tuple[str, ...]:
    """The program's highlighted lines, once per program text (they serve every step)."""
    return tuple(highlight_python_lines(source))


def _heading(text: str, detail: str = "") -> str:
    extra = f' <span class="sqe-note">{esc(detail)}</span>' if detail else ""
    return f'<div class="sqe-h">{esc(text)}{extra}</div>'


@functools.lru_cache(maxsize=64)
def _lines(source: str) -> tuple[str, ...]:
    return tuple(source.splitlines())


@dataclass
class Traced:
    """A transcript and what the page derives from it, computed once."""

    key: Hashable
    """What the cache knows it by: program text digest, path, name, options, limits."""
    source: str
    """The program text that was traced."""
    transcript: dict[str, Any]
    counts: Counter[int] = field(default_factory=Counter)
    """SQL statements per line of the program, over the whole run."""
    order: dict[str, list[str]] = field(default_factory=dict)
    """Attribute order per class, for object cards."""
    size: int = 0
    """About the memory the transcript takes (``sqlecho._app.traces.transcript_bytes``)."""

    @property
    def steps(self) -> list[Step]:
        """The transcript's steps."""
        return self.transcript["steps"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class StepHTML:
    """The blocks of one step, each a self-contained HTML fragment."""

    code: str
    """The step's lines in their context, with statement counts."""
    events: str
    """What happened, in order, then the step's error if it has one."""
    objects: str
    """A card per ORM object."""
    database: str
    """The Session's collections and the committed tables."""
    whole: str
    """Every line of the program, the step's lines highlighted."""
    sessions: str = ""
    """Every session's collections (the first half of ``database``)."""
    tables: str = ""
    """The committed tables (the second half of ``database``)."""


def draw_step(
    traced: Traced, index: int, *, marks: tuple[int, ...] = (), heading: str = "What happened"
) -> StepHTML:
    """The HTML blocks of step ``index`` (0-based) of ``traced``.

    Args:
        traced: the transcript and what is derived from it.
        index: the step.
        marks: events to mark as "only in this run" (when two runs are compared).
        heading: the heading of the events block ("As written", "With autoflush=False", ...).
    """
    steps = traced.steps
    step = steps[index]
    previous = steps[index - 1] if index > 0 else None
    first, last = step["lines"]
    where = f"line {first}" if first == last else f"lines {first}–{last}"
    total = sql_total(step)
    context = 1 if traced.transcript.get("mode") == "cells" else 4
    code = _heading("Code", f"{where} · {total} statement{'s' * (total != 1)} in this step")
    code += render_code(_highlighted(traced.source), step, traced.counts, context=context)
    code += render_variables(step, previous)
    events = _heading(heading, "in order") + render_events(step, marks=marks, source=_lines(traced.source))
    if error := step.get("error"):
        events += render_error(error, traced.transcript.get("versions"))
    objects = _heading("Objects", "after this step; changes since the step before are marked")
    objects += render_objects(step, previous, traced.order)
    many = len(step.get("sessions") or ()) > 1
    sessions = _heading(
        "Sessions" if many else "Session", "what each session tracks" if many else "what the Session tracks"
    ) + render_session(
        step, previous, had_session=any(item.get("sessions") or item.get("session") for item in steps[:index])
    )
    tables = _heading("Database", "committed rows, as another connection sees them") + render_tables(
        step, previous
    )
    whole = render_code(_highlighted(traced.source), step, traced.counts, whole=True)
    return StepHTML(code, events, objects, sessions + tables, whole, sessions, tables)


def draw_code_only(traced: Traced, index: int) -> str:
    """The code block of step ``index`` without its statement counts: what a reader sees while
    predicting what the step will send (the counts would give the answer away)."""
    step = traced.steps[index]
    first, last = step["lines"]
    where = f"line {first}" if first == last else f"lines {first}–{last}"
    context = 1 if traced.transcript.get("mode") == "cells" else 4
    return _heading("Code", where) + render_code(
        _highlighted(traced.source), step, Counter(), context=context
    )


def diff_summary(diff: StepDiff, label: str) -> str:
    """The box above a compared step: what the switch changed here, or that nothing did."""
    if not diff.notes:
        return f'<div class="sqe-diff sqe-same">With {esc(label)} this step sends the same SQL.</div>'
    notes = "".join(f"<li>{esc(note)}</li>" for note in diff.notes)
    return f'<div class="sqe-diff"><b>Compared with {esc(label)}:</b><ul>{notes}</ul></div>'


_WHAT_TO_LOOK_FOR = "**What to look for**"


def _looked_for(text: str, step: Mapping[str, object], source: str | None) -> str:
    """``text`` with its ``Expect:`` lines made one list of what they claim, in words, where the
    first of them was."""
    first = first_expectation(text)
    if first is None:
        return text
    try:
        answers = [question.explain for question in claims_for(cast(Step, step), source=source)]
    except Exception:  # noqa: BLE001 - a malformed step: the narrative without its claims
        answers = []
    listed = "\n".join(f"- {md_literal(answer)}" for answer in answers)
    block = f"\n\n{_WHAT_TO_LOOK_FOR}\n\n{listed}\n\n" if answers else "\n\n"
    return (text[:first] + block + without_expectations(text[first:])).strip()


def narrative_text(
    step: Mapping[str, object],
    lesson_title: str | None = None,
    *,
    expectations: bool = True,
    source: str | None = None,
) -> str:
    """The step's narrative markdown, without the lesson's title heading (shown above it already).

    Its ``Expect:`` lines are the lesson's claims in the checks' grammar (``1 SELECT (load
    expired)``, ``state Book#3 detached``), written for the tests and for predict mode's
    questions: with ``expectations`` they become a list headed "What to look for", each claim
    in words with the line that made it true (predict mode's answers, :func:`claims_for`);
    without, they are left out (they are the answer). ``source``: the program, for claims about
    a line of its code."""
    text = str(step.get("narrative") or "")
    text = _looked_for(text, step, source) if expectations else without_expectations(text)
    text = re.sub(r"\n{3,}", "\n\n", text)  # where claims were taken out
    lines = text.splitlines()
    if lesson_title and lines and lines[0].startswith("# ") and lines[0][2:].strip() == lesson_title:
        text = "\n".join(lines[1:]).strip()
    return text
