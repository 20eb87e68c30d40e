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

from .._transcript.derive import attribute_order, statement_counts
from .code import esc
from .css import style_tag
from .diff import diff_transcripts
from .markdown import markdown_html
from .step import Traced, diff_summary, draw_step, narrative_text

__all__ = [
    "EXPORT_JS",
    "Variant",
    "index_page",
    "lesson_title",
    "prettify_stem",
    "step_viewer",
    "viewer_page",
]

EXPORT_JS = (files("sqlecho._render") / "export.js").read_text(encoding="utf-8")
_EXPORT_CSS = (files("sqlecho._render") / "export.css").read_text(encoding="utf-8")
_HEADING = re.compile(r"^\s{0,3}#\s+(?P<title>.+?)\s*#*\s*$")

EXERCISE_NOTE = (
    "This page cannot run Python: check your answer in the app, or with "
    "<code>python -m sqlecho check FILE --against LESSON</code>."
)


@dataclass(frozen=True)
class Variant:
    """The same program run with a teacher's switch, shown beside the run as written."""

    label: str
    """What the switch changed, e.g. ``expire_on_commit=False``."""
    transcript: Mapping[str, Any]


def prettify_stem(stem: str) -> str:
    """``02_lazy_loading`` -> ``Lazy loading``."""
    words = re.sub(r"^\d+[_\-\s]*", "", stem).replace("_", " ").replace("-", " ").strip()
    return (words[:1].upper() + words[1:]) if words else stem


def lesson_title(transcript: Mapping[str, Any], stem: str) -> str:
    """The first ``# Title`` heading of the lesson's narratives, else the prettified file stem."""
    for step in transcript.get("steps", []):
        for line in str(step.get("narrative") or "").splitlines():
            if match := _HEADING.match(line):
                return match["title"]
    return prettify_stem(stem)


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


def _exercise(step: Mapping[str, Any]) -> str:
    exercise = step.get("exercise")
    if not isinstance(exercise, Mapping):
        return ""
    check = esc(str(exercise.get("check") or ""))
    hint = str(exercise.get("hint") or "")
    hint_html = f"<details><summary>Hint</summary>{markdown_html(hint)}</details>" if hint else ""
    return (
        '<div class="sqx-exercise"><b>Exercise.</b> This step is checked against: '
        f"<code>{check}</code><p>{EXERCISE_NOTE}</p>{hint_html}</div>"
    )


def _run_as_written(traced: Traced, index: int) -> str:
    blocks = draw_step(traced, index)
    return _grid(blocks.code, blocks.events) + _grid(blocks.objects, blocks.database, "3fr 2fr")


def _run_compared(traced: Traced, other: Traced, label: str, index: int, diff: Any) -> str:
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


def step_viewer(
    transcript: Mapping[str, Any],
    source: str,
    *,
    title: str | None = None,
    variants: Sequence[Variant] = (),
    follow_address: bool = True,
) -> str:
    """The viewer of one transcript as an HTML fragment: navigator, steps, stylesheet and script.

    Args:
        transcript: what to show.
        source: the program text that was traced (the code blocks show its lines).
        title: the lesson's title (a narrative heading equal to it is not repeated).
        variants: runs of the same program with a switch flipped, compared step by step.
        follow_address: ``#step=N`` opens step N and follows the reader (a page of its own);
            off inside a notebook, where several viewers share one address.
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
        narrative = narrative_text(step, title)
        after = str(step.get("after") or "")
        sections.append(
            f'<section class="sqx-step" data-step="{index + 1}"{" hidden" if index else ""}>'
            + (f'<div class="sqx-md">{markdown_html(narrative)}</div>' if narrative else "")
            + _exercise(step)
            + "".join(runs)
            + (f'<div class="sqx-md sqx-after">{markdown_html(after)}</div>' if after else "")
            + "</section>"
        )
    titles = [step.get("title") or "" for step in steps]
    count = len(steps)
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
        f"{switch}</nav>"
        f'<input type="range" class="sqx-slider" min="1" max="{max(count, 1)}" value="1" '
        f'aria-label="Step"{" hidden" if count < 2 else ""}>'
    )
    data = json.dumps({"titles": titles, "follow": follow_address}).replace("</", "<\\/")
    return (
        f'<div class="sqx-viewer">{style_tag()}<style>{_EXPORT_CSS}</style>'
        f'<script type="application/json" class="sqx-data">{data}</script>'
        f'{navigator}<div class="sqx-steps">{"".join(sections)}</div>'
        f"<script>{EXPORT_JS}</script></div>"
    )


def _document(title: str, body: str) -> str:
    # The Content-Security-Policy keeps the promise of "no request" even for a link-free page:
    # only the inline style and script may run, nothing may be fetched.
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title></head>"
        f'<body class="sqx-page">{body}</body></html>\n'
    )


def viewer_page(
    transcript: Mapping[str, Any],
    source: str,
    *,
    title: str,
    variants: Sequence[Variant] = (),
    index_href: str | None = "index.html",
) -> str:
    """One lesson as a whole self-contained HTML document (what ``sqlecho export`` writes)."""
    back = f'<a class="sqx-back" href="{esc(index_href)}">All lessons</a>' if index_href else ""
    body = f"<header>{back}<h1>{esc(title)}</h1></header>" + step_viewer(
        transcript, source, title=title, variants=variants
    )
    return _document(title, body)


def index_page(lessons: Sequence[tuple[str, str, int]], heading: str = "Lessons") -> str:
    """The site's index: one link per lesson, given as (file stem, title, number of steps)."""
    items = "".join(
        f'<li><a href="{esc(stem)}.html">{esc(title)}</a> <span class="sqe-note">{steps} step{"s" * (steps != 1)}</span></li>'
        for stem, title, steps in lessons
    )
    body = (
        f"<header><h1>{esc(heading)}</h1></header>"
        f'<style>{_EXPORT_CSS}</style><ol class="sqx-index">{items}</ol>'
    )
    return _document(heading, body)
