"""Self-contained HTML pages of transcripts: a lesson site without a server, and Jupyter's viewer.

A page holds everything it shows: the stylesheet, a small navigator script (``export.js``) and
every step already drawn by the same renderers as the app (:func:`sqlecho._render.step.draw_step`).
Steps are sections of the page, all but one hidden, so the page needs no network, no Python and
no templating in the browser: it works opened from ``file://``, from any static host, and inside
a notebook's output. The first step is visible in the HTML itself, so a reader without script
still sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import quote

from .._transcript.derive import attribute_order, statement_counts
from .code import esc
from .css import favicon_data_url, style_tag
from .diff import TranscriptDiff, diff_transcripts
from .markdown import markdown_html
from .questions import Question, questions_of
from .renamed import former_stems
from .step import Traced, diff_summary, draw_code_only, draw_step, narrative_text

__all__ = [
    "EXPORT_JS",
    "STORAGE_PREFIX",
    "Variant",
    "index_page",
    "step_viewer",
    "viewer_page",
]

EXPORT_JS = (files("sqlecho._render") / "export.js").read_text(encoding="utf-8")
_EXPORT_CSS = (files("sqlecho._render") / "export.css").read_text(encoding="utf-8")

EXERCISE_NOTE = (
    "This page cannot run Python: check your answer in the app, or with "
    "<code>python -m sqlecho check FILE --against LESSON</code>."
)


@dataclass(frozen=True)
class Variant:
    """The same program run with a teacher's switch, shown beside the run as written."""

    label: str
    """What the switch changed, e.g. ``expire_on_commit=False``."""
    transcript: Mapping[str, object]


def _traced(transcript: Mapping[str, Any], source: str) -> Traced:
    steps = transcript["steps"]
    return Traced(
        ("export", id(transcript)),
        source,
        dict(transcript),
        counts=statement_counts(steps),
        order=attribute_order(steps),
    )


def _grid(left: str, right: str, columns: str = "6fr 5fr") -> str:
    return (
        f'<div class="sqx-grid" style="grid-template-columns:minmax(0,{columns.split()[0]}) '
        f'minmax(0,{columns.split()[1]})"><div>{left}</div><div>{right}</div></div>'
    )


def _exercise(step: Mapping[str, object]) -> str:
    exercise = step.get("exercise")
    if not isinstance(exercise, Mapping):
        return ""
    check = esc(str(exercise.get("check") or ""))
    hint = str(exercise.get("hint") or "")
    hint_html = f"<details><summary>Hint</summary>{markdown_html(hint)}</details>" if hint else ""
    task = str(exercise.get("task") or "")
    task_html = f'<div class="sqx-md">{markdown_html(task)}</div>' if task else ""
    return (
        f'<div class="sqx-exercise"><b>Exercise.</b> {task_html}This step is checked against: '
        f"<code>{check}</code><p>{EXERCISE_NOTE}</p>{hint_html}</div>"
    )


def _run_as_written(traced: Traced, index: int) -> str:
    blocks = draw_step(traced, index)
    return _grid(blocks.code, blocks.events) + _grid(blocks.objects, blocks.database, "3fr 2fr")


def _run_compared(traced: Traced, other: Traced, label: str, index: int, diff: TranscriptDiff) -> str:
    step_diff = diff.for_a(index)
    ours = draw_step(traced, index, marks=step_diff.only_a, heading="As written")
    head = diff_summary(step_diff, label) + ours.code
    if step_diff.b_index is None:
        never = f'<div class="sqe-h">With {esc(label)}</div><div class="sqe-empty">The program never gets here.</div>'
        return (
            head + _grid(ours.events, never, "1fr 1fr") + _grid(ours.objects + ours.database, "", "1fr 1fr")
        )
    theirs = draw_step(other, step_diff.b_index, marks=step_diff.only_b, heading=f"With {label}")
    return (
        head
        + _grid(ours.events, theirs.events, "1fr 1fr")
        + _grid(ours.objects + ours.database, theirs.objects + theirs.database, "1fr 1fr")
    )


STORAGE_PREFIX = "sqlecho.predict."
"""The ``localStorage`` key of a lesson's predictions: this and the lesson's stem (as in the app)."""


def _prompt(text: str) -> str:
    """A question's text as HTML: escaped, with its `code` spans (a variable's name) as code."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", esc(text))


def _control(number: int, question: Question) -> str:
    """One question's control, empty: a number field, or radio buttons (state chips, choices)."""
    name = f"q{number}"
    if question.control == "number":
        return (
            f'<label class="sqx-q">{_prompt(question.prompt)} <input type="number" name="{name}" min="0" '
            'max="999" step="1" inputmode="numeric" placeholder="Your answer"></label>'
        )
    chips = " sqx-chips" if question.control == "state" else ""
    options = "".join(
        f'<label><input type="radio" name="{name}" value="{esc(option)}"> {esc(option)}</label>'
        for option in question.options
    )
    return f'<fieldset class="sqx-q{chips}"><legend>{_prompt(question.prompt)}</legend>{options}</fieldset>'


def _asked(questions: list[Question], code: str) -> str:
    """What a predicted step shows before its reveal: the code (without counts) and the form."""
    fields = "".join(_control(number, question) for number, question in enumerate(questions))
    return (
        f'<div class="sqx-ask">{code}<form class="sqx-form"><p><b>Predict before you look.</b></p>{fields}'
        '<p class="sqx-missing" hidden>Answer every question first (or press Reveal).</p>'
        '<button type="submit" class="sqx-primary">Check my prediction</button> '
        '<button type="button" class="sqx-reveal">Reveal</button></form></div>'
        '<div class="sqx-marks" aria-live="polite"></div>'
    )


def _answer_data(questions: list[Question]) -> str:
    data = [
        {"prompt": q.prompt, "answer": q.answer, "explain": q.explain, "control": q.control}
        for q in questions
    ]
    return _json_in_html(data)


def step_viewer(
    transcript: Mapping[str, object],
    source: str,
    *,
    title: str | None = None,
    variants: Sequence[Variant] = (),
    follow_address: bool = True,
    predict: bool = True,
    storage_key: str | None = None,
    next_lesson: tuple[str, str] | None = None,
    in_page: bool = False,
) -> str:
    """The viewer of one transcript as an HTML fragment: navigator, steps, stylesheet and script.

    Args:
        transcript: what to show.
        source: the program text that was traced (the code blocks show its lines).
        title: the lesson's title (a narrative heading equal to it is not repeated).
        variants: runs of the same program with a switch flipped, compared step by step.
        follow_address: ``#step=N`` opens step N and follows the reader (a page of its own);
            off inside a notebook, where several viewers share one address.
        predict: a step with an ``Expect:`` line asks its questions first; what it did is kept in
            a ``<template>`` (outside the page's document) until the reader answers or reveals.
        storage_key: where the browser keeps the reader's predictions (``localStorage``);
            default: from the title.
        next_lesson: the address and title of the lesson after this one (the last step links to it).
        in_page: the viewer as a part of a page that runs its script itself (the app's lesson
            page, stepping in the browser): no script and no stylesheet of the steps (the page
            has them), no exercise note (the page checks exercises), the address's ``?step=N``,
            no keys of its own; the first step shown is the root's ``data-start``.
    """
    traced = _traced(transcript, source)
    others = [(v.label, _traced(v.transcript, source)) for v in variants]
    diffs = [diff_transcripts(transcript, other.transcript) for _label, other in others]
    steps = traced.steps
    sections: list[str] = []
    for index, step in enumerate(steps):
        runs = [f'<div class="sqx-run" data-run="0">{_run_as_written(traced, index)}</div>']
        for number, ((label, other), diff) in enumerate(zip(others, diffs, strict=True), start=1):
            runs.append(
                f'<div class="sqx-run" data-run="{number}" hidden>'
                f"{_run_compared(traced, other, label, index, diff)}</div>"
            )
        narrative = narrative_text(step, title, source=source)
        after = str(step.get("after") or "")
        answer = (
            (f'<div class="sqx-md">{markdown_html(narrative)}</div>' if narrative else "")
            + "".join(runs)
            + (f'<div class="sqx-md sqx-after">{markdown_html(after)}</div>' if after else "")
            + (_exercise(step) if not in_page else "")
        )
        questions = (
            questions_of(step, source=source, before=steps[index - 1] if index else None) if predict else []
        )
        if questions:
            # Everything that tells the answer sits in a template: not part of the document
            # (not read aloud, not found by search) until the script moves it in.
            question = narrative_text(step, title, expectations=False)
            answer = (
                (f'<div class="sqx-md sqx-question">{markdown_html(question)}</div>' if question else "")
                + _asked(questions, draw_code_only(traced, index))
                + '<template class="sqx-answer">'
                + f'<script type="application/json" class="sqx-key">{_answer_data(questions)}</script>'
                + answer
                + "</template>"
            )
        sections.append(
            f'<section class="sqx-step" data-step="{index + 1}"{" data-asked" if questions else ""}'
            f"{' hidden' if index else ''}>{answer}</section>"
        )
    titles = [step.get("title") or "" for step in steps]
    count = len(steps)
    asked = sum(1 for step in steps if predict and questions_of(step))
    switch = ""
    if others:
        options = '<option value="0">As written</option>' + "".join(
            f'<option value="{n}">Compare with {esc(label)}</option>'
            for n, (label, _o) in enumerate(others, 1)
        )
        switch = f'<label class="sqx-switch">Run <select class="sqx-runs">{options}</select></label>'
    navigator = (
        f'<nav class="sqx-nav"{" hidden" if count < 2 and not others else ""}>'
        '<button type="button" data-go="first" disabled>« First</button>'
        '<button type="button" data-go="prev" disabled>‹ Previous</button>'
        f'<button type="button" data-go="next" class="sqx-primary"{" disabled" if count < 2 else ""}>Next ›</button>'
        f'<button type="button" data-go="last"{" disabled" if count < 2 else ""}>Last »</button>'
        f'<span class="sqx-where"><b>Step <span class="sqx-n">1</span> of {count}</b>'
        f'<span class="sqx-title">{esc(" · " + titles[0]) if titles and titles[0] else ""}</span></span>'
        + (
            f'<a class="sqx-next-lesson" href="{esc(next_lesson[0])}" hidden>Next lesson: {esc(next_lesson[1])} ›</a>'
            if next_lesson
            else ""
        )
        + f"{switch}</nav>"
        f'<input type="range" class="sqx-slider" min="1" max="{max(count, 1)}" value="1" '
        f'aria-label="Go to step"{" hidden" if count < 2 else ""}>'
    )
    score = (
        '<div class="sqx-score" aria-live="polite"><span class="sqx-score-text"></span> '
        '<button type="button" class="sqx-clear" hidden>Clear my answers</button></div>'
        if asked
        else ""
    )
    key = storage_key or STORAGE_PREFIX + re.sub(r"\W+", "_", (title or "lesson").lower()).strip("_")
    settings: dict[str, object] = {"titles": titles, "follow": follow_address, "storage": key, "asked": asked}
    if key.startswith(STORAGE_PREFIX):  # a renamed lesson: its reader's earlier answers are read too
        settings["former"] = [STORAGE_PREFIX + old for old in former_stems(key.removeprefix(STORAGE_PREFIX))]
    if in_page:
        settings.update(follow=True, query=True, keys=False)
    data = _json_in_html(settings)
    return (
        f'<div class="sqx-viewer">{"" if in_page else style_tag()}<style>{_EXPORT_CSS}</style>'
        f'<script type="application/json" class="sqx-data">{data}</script>'
        f'{score}{navigator}<div class="sqx-steps">{"".join(sections)}</div>'
        + ("" if in_page else f"<script>{EXPORT_JS}</script>")
        + "</div>"
    )


def _json_in_html(value: object) -> str:
    """``value`` as JSON that can sit inside a ``<script>`` element whatever its strings hold.

    Every ``<``, ``>`` and ``&`` is written as a ``\\u`` escape (JSON reads the same): an HTML
    parser looks for ``</script`` and, after ``<!--``, for ``<script`` too, in which case the
    rest of the page becomes part of the script and the page shows nothing.
    """
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _document(title: str, body: str) -> str:
    # The Content-Security-Policy keeps the promise of "no request" even for a link-free page:
    # only the inline style and script may run, nothing may be fetched.
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f'<title>{esc(title)}</title><link rel="icon" href="{favicon_data_url()}"></head>'
        f'<body class="sqx-page">{body}</body></html>\n'
    )


def viewer_page(
    transcript: Mapping[str, object],
    source: str,
    *,
    title: str,
    variants: Sequence[Variant] = (),
    index_href: str | None = "index.html",
    stem: str | None = None,
    next_lesson: tuple[str, str] | None = None,
) -> str:
    """One lesson as a whole self-contained HTML document (what ``sqlecho export`` writes).

    ``stem`` names the lesson's predictions in the browser's storage; ``next_lesson`` is the
    (address, title) the last step leads to.
    """
    back = f'<a class="sqx-back" href="{esc(index_href)}">All lessons</a>' if index_href else ""
    body = f"<header>{back}<h1>{esc(title)}</h1></header>" + step_viewer(
        transcript,
        source,
        title=title,
        variants=variants,
        storage_key=STORAGE_PREFIX + stem if stem else None,
        next_lesson=next_lesson,
    )
    return _document(title, body)


def index_page(lessons: Sequence[tuple[str, str, int]], heading: str = "Lessons") -> str:
    """The site's index: one link per lesson, given as (file stem, title, number of steps).

    A stem is a file name, which whoever wrote the lesson chose: every character but letters,
    digits and ``_.-~`` is percent-encoded, so that a file ``javascript:alert(1).py`` is linked
    as a page of that name, never as a scheme the browser would run.
    """
    items = "".join(
        f'<li><a href="{quote(stem, safe="")}.html">{esc(title)}</a> <span class="sqe-note">{steps} step{"s" * (steps != 1)}</span></li>'
        for stem, title, steps in lessons
    )
    body = (
        f"<header><h1>{esc(heading)}</h1></header>"
        f'<style>{_EXPORT_CSS}</style><ol class="sqx-index">{items}</ol>'
    )
    return _document(heading, body)
