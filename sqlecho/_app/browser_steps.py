"""The lesson page stepping in the browser: every step on the page, the server told only a little.

With ``SQLECHO_STEPPING=browser`` (the class deployment's default) the lesson's steps are drawn
once per lesson and switches, by the exported site's viewer (:func:`sqlecho._render.export.step_viewer`,
cached for every reader of this server process), and sent to the page whole. Next, Previous, the
slider, the arrow keys, predict mode's questions, marks and score, and the lesson summary then
work in the browser with no round trip: a step costs the server nothing while it is being shown.

What the server must still know it is told by a small component (the *reporter*) inside an
``st.fragment``, so that a message reruns only that fragment, not the page:

- where the reader is, once they rest half a second, and at most once every five seconds: for
  the address the server writes (``&step=N``; the browser keeps its own meanwhile) and for what
  the server may want to know of a class;
- a prediction answered or revealed (the answers are marked again here: the browser is not
  trusted), into the same record as predict mode's own; the step's exercise, if it has one, is
  drawn then (until then it is absent from the page, as with server stepping);
- "Next lesson" on the last step.

Another fragment draws every exercise the reader may see, each in a box that the page shows
under its own step only, so that moving to an exercise needs no message either.

Everything else of the page (the sidebar's lessons and switches, presenter mode, the warnings of a
link) is drawn by :mod:`sqlecho._app.lesson_page` as with server stepping.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import streamlit as st

from .._render.export import EXPORT_JS, Variant, step_viewer
from .._render.questions import questions_of
from . import keys, predict
from .config import AppConfig
from .exercise import exercise_panel
from .keyboard import use_keyboard
from .lessons import Switches, link_params
from .memo import Memo
from .saved import STORAGE_PREFIX
from .traces import Traced

if TYPE_CHECKING:
    from streamlit.components.v2.types import ComponentRenderer

__all__ = ["REPORTER", "VIEWER", "BrowserLesson", "steps_in_browser", "viewer_html"]

VIEWER = "sqlecho_step_viewer"
"""The component that holds the lesson's steps (its name, as the page's protocol shows it)."""
REPORTER = "sqlecho_step_reporter"
"""The component, in its own fragment, that tells the server where the reader is."""

REPORT_DELAY_MS = 500
"""How long the reader rests on a step before the server is told (a burst of steps is one message)."""
REPORT_EVERY_MS = 5000
"""At most one message about where the reader is per this many milliseconds (the last place)."""

_CSS = """
.st-key-sqebrowser .sqx-viewer { font-family: inherit; }
.st-key-sqebrowser .sqx-nav { position: sticky; top: 3.75rem; z-index: 99; background: Canvas; padding: 4px 0;
  border-bottom: 1px solid color-mix(in srgb, currentColor 12%, transparent); }
.st-key-sqebrowser .sqx-nav button { min-height: 2.1rem; }
@media (max-width: 640px) {
  .st-key-sqebrowser .sqx-nav { position: fixed; top: auto; bottom: 0; left: 0; right: 0; padding: 6px 10px; margin: 0;
    border-top: 1px solid color-mix(in srgb, currentColor 18%, transparent); }
  .st-key-sqebrowser .sqx-nav [data-go="first"], .st-key-sqebrowser .sqx-nav [data-go="last"] { display: none; }
  .st-key-sqebrowser { padding-bottom: 6rem; }
}
"""
# The presenter's room reads the bar too (presenter.css sizes the page's own parts).
_PRESENTER_CSS = (
    ".st-key-sqebrowser .sqx-nav, .st-key-sqebrowser .sqx-nav button, .st-key-sqebrowser .sqx-score,"
    " .st-key-sqebrowser .sqx-form, .st-key-sqebrowser .sqx-marks, .st-key-sqebrowser .sqx-md p,"
    " .st-key-sqebrowser .sqx-md li { font-size: 24px; }"
    " .st-key-sqebrowser .sqx-slider { display: none; }"
)

# The viewer: export.js (which defines sqxViewer) and the glue that mounts it in the page. The
# steps are put in place once per lesson and switches (the digest); a rerun of the page with the
# same steps leaves the reader where they are. Keys: one listener on the window, in the capture
# phase, as the page's own navigator has (a focused sidebar radio would take the arrows).
_VIEWER_JS = (
    EXPORT_JS
    + """
const TYPING = (el) => el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT"
  || (el.tagName === "INPUT" && !["radio", "checkbox", "button"].includes(el.type))
  || el.getAttribute("role") === "slider");
const MOVES = { ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last" };

function report(kind, detail) {
  return typeof window.sqeReport === "function" && window.sqeReport(kind, detail) === true;
}

// The exercise under the step on screen, if that step is revealed; the others are hidden (the
// server draws every exercise the reader may see; what is drawn later is hidden the same way).
function showExercise(step, revealed) {
  let style = document.getElementById("sqe-exercise-style");
  if (!style) {
    style = document.createElement("style");
    style.id = "sqe-exercise-style";
    document.head.appendChild(style);
  }
  style.textContent = '[class*="st-key-sqeexercise_"] { display: none !important; }'
    + (revealed ? ` .st-key-sqeexercise_${step} { display: block !important; }` : "");
}

export default function ({ data, parentElement }) {
  if (!data || !data.html) return;
  const holder = parentElement;
  const mounted = holder.sqeViewer;
  if (mounted && mounted.digest === data.digest && holder.contains(mounted.root)) {
    window.setTimeout(() => mounted.api.sync(), 0);  // after the page's own address, if it wrote one
    return;
  }
  // The same lesson again (a switch, a reconnection that drew the page anew): the reader's step.
  const previous = mounted || window.sqeViewer;
  const keep = previous && previous.lesson === data.lesson ? previous.api.current() : 0;
  holder.innerHTML = data.html;
  const root = holder.querySelector(".sqx-viewer");
  const start = keep || data.step || 1;
  root.setAttribute("data-start", String(start));
  const runs = root.querySelector(".sqx-runs");
  root.addEventListener("sqx-step", (event) => {
    showExercise(event.detail.step, event.detail.revealed);
    report("at", { lesson: data.lesson, ...event.detail });
  });
  root.addEventListener("sqx-answer", (event) => report("answer", { lesson: data.lesson, ...event.detail }));
  root.addEventListener("sqx-next-lesson", (event) => {
    if (report("open", { lesson: data.lesson })) event.preventDefault();
  });
  const api = sqxViewer(root);
  if (runs && data.run) { runs.value = String(data.run); runs.dispatchEvent(new Event("change")); }
  holder.sqeViewer = { digest: data.digest, lesson: data.lesson, api: api, root: root };
  window.sqeViewer = holder.sqeViewer;
  showExercise(api.current(), api.revealed());
  window.setTimeout(() => api.sync(), 0);
  if (!window.sqeViewerKeys) {
    window.sqeViewerKeys = true;
    window.addEventListener("keydown", (event) => {
      const viewer = window.sqeViewer;
      const move = MOVES[event.key];
      if (!viewer || !move || !document.contains(viewer.root)) return;
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || TYPING(event.target)) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      viewer.api.go(move);
    }, true);
  }
}
"""
)

# The reporter: where the reader rests (a state, sent after REPORT_DELAY_MS), answers and "Next
# lesson" (triggers, sent at once). Its handler is the window's, replaced on every render so that
# it always speaks for the lesson on screen.
_REPORTER_JS = """
export default function ({ data, setStateValue, setTriggerValue }) {
  if (!data || !data.lesson) return;
  window.sqeReport = (kind, detail) => {
    if (!detail || detail.lesson !== data.lesson) return false;
    if (kind === "at") {
      // At most one message every data.every ms, the last place heard, once the reader rested.
      window.sqeReportAt = { step: detail.step, revealed: !!detail.revealed };
      window.clearTimeout(window.sqeReportTimer);
      const wait = Math.max(data.delay, (window.sqeReportLast || 0) + data.every - Date.now());
      window.sqeReportTimer = window.setTimeout(() => {
        window.sqeReportLast = Date.now();
        setStateValue("at", window.sqeReportAt);
      }, wait);
      return true;
    }
    if (kind === "answer") { setTriggerValue("answer", { index: detail.index, answers: detail.answers }); return true; }
    if (kind === "open" && data.next) { setTriggerValue("open", data.next); return true; }
    return false;
  };
}
"""


@functools.cache
def _viewer() -> ComponentRenderer:
    return st.components.v2.component(VIEWER, js=_VIEWER_JS, isolate_styles=False)


@functools.cache
def _reporter() -> ComponentRenderer:
    return st.components.v2.component(REPORTER, js=_REPORTER_JS)


@dataclass(frozen=True)
class BrowserLesson:
    """What the lesson page knows about the lesson it shows, for stepping in the browser."""

    config: AppConfig
    stem: str
    title: str
    path: Path
    traced: Traced
    other: Traced | None
    """The run with the teacher's switches, when they are not the defaults."""
    label: str
    """What the switches changed (``expire_on_commit=False``), with ``other``."""
    switches: Switches
    next_lesson: tuple[str, str] | None
    """The stem and the title of the lesson after this one."""
    stems: tuple[str, ...]


_HTML: Memo[tuple[str, str]] = Memo(64)


def viewer_html(lesson: BrowserLesson) -> tuple[str, str]:
    """The lesson's viewer (every step drawn) and its digest, drawn once per server process for
    every reader of the same lesson, switches and predict mode."""
    switches = lesson.switches
    next_href = None
    if lesson.next_lesson is not None:
        stem, title = lesson.next_lesson
        next_href = ("?" + urlencode(link_params(stem, 1, switches)), title)
    key = (
        lesson.traced.key,
        lesson.other.key if lesson.other is not None else None,
        lesson.label,
        lesson.title,
        lesson.stem,
        switches.predict,
        next_href,
    )

    def draw() -> tuple[str, str]:
        variants = [Variant(lesson.label, lesson.other.transcript)] if lesson.other is not None else []
        html = step_viewer(
            lesson.traced.transcript,
            lesson.traced.source,
            title=lesson.title,
            variants=variants,
            predict=switches.predict,
            storage_key=STORAGE_PREFIX + lesson.stem,
            next_lesson=next_href,
            in_page=True,
        )
        return html, hashlib.sha256(repr(key).encode()).hexdigest()[:16]

    return _HTML.get(key, draw)


def _mount_number(stem: str) -> int:
    """A number that changes whenever the page opens another lesson: the reporter is a new one
    then, so a place reported in an earlier visit of this lesson is never taken for today's."""
    state = st.session_state
    if state.get(keys.VIEWER_LESSON) != stem:
        state[keys.VIEWER_LESSON] = stem
        state[keys.VIEWER_MOUNT] = int(state.get(keys.VIEWER_MOUNT, 0)) + 1
    return int(state[keys.VIEWER_MOUNT])


def steps_in_browser(lesson: BrowserLesson, start: int, write_address: Callable[[int], None]) -> None:
    """Draw the lesson's steps for the browser to step through, from step ``start`` (1-based),
    and the fragment that hears where the reader is (``write_address`` keeps the address)."""
    html, digest = viewer_html(lesson)
    data = {
        "html": html,
        "digest": digest,
        "lesson": lesson.stem,
        "step": start,
        "run": 1 if lesson.other is not None else 0,
    }
    st.html(f"<style>{_CSS}{_PRESENTER_CSS if lesson.switches.presenter else ''}</style>")
    use_keyboard()  # the page's helpers: focus leaves the sidebar after a pick, which folds on a phone
    with st.container(key=keys.BROWSER_STEPS):
        _viewer()(key=keys.VIEWER_WIDGET, data=data, height="content")
    _reported(lesson, _mount_number(lesson.stem), write_address)
    _exercises(lesson)


def _valid_step(value: object, count: int) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= count else None


@st.fragment
def _reported(lesson: BrowserLesson, mount: int, write_address: Callable[[int], None]) -> None:
    """The reporter, alone in its fragment: a message from it reruns only this function."""
    state = st.session_state
    steps = lesson.traced.steps
    result = _reporter()(
        key=f"sqe_reporter_{lesson.stem}_{mount}",
        data={
            "lesson": lesson.stem,
            "delay": REPORT_DELAY_MS,
            "every": REPORT_EVERY_MS,
            "next": lesson.next_lesson[0] if lesson.next_lesson else None,
        },
        default={"at": None},
        on_at_change=_heard,
        on_answer_change=_heard,
        on_open_change=_heard,
        height=0,
    )
    opened = getattr(result, "open", None)
    if lesson.next_lesson is not None and opened == lesson.next_lesson[0] and opened in lesson.stems:
        state[keys.LESSON] = opened
        state[keys.step(keys.LESSON_STEPS)] = 1
        st.rerun(scope="app")
    at = getattr(result, "at", None)
    step = _valid_step(at.get("step"), len(steps)) if isinstance(at, dict) else None
    if step is not None:
        state[keys.step(keys.LESSON_STEPS)] = step
        write_address(step)
    answered = getattr(result, "answer", None)
    if isinstance(answered, dict) and _record(lesson, answered):
        st.rerun(scope="app")  # an exercise to draw under the step just revealed


@st.fragment
def _exercises(lesson: BrowserLesson) -> None:
    """Every exercise the reader may see now, each in a box the page shows under its own step
    only: moving to an exercise needs no message. A step still asking its question has none on
    the page (not hidden: absent) until the browser says it was answered or revealed. A fragment
    of its own: typing and checking rerun only this."""
    steps = lesson.traced.steps
    for index, item in enumerate(steps):
        if not isinstance(item.get("exercise"), dict):
            continue
        if lesson.switches.predict and predict.hidden(lesson.stem, index, item):
            continue
        with st.container(key=f"{keys.BROWSER_EXERCISE}{index + 1}"):
            exercise_panel(lesson.config, lesson.stem, lesson.traced.source, steps, index, lesson.path)


def _heard() -> None:
    """The reporter's messages are read where they are drawn (the fragment); nothing to do first."""


def _record(lesson: BrowserLesson, answered: dict[str, object]) -> bool:
    """A prediction the browser answered (or revealed, with no answers), marked here again.
    True when that step has an exercise the page did not hold yet."""
    steps = lesson.traced.steps
    index = answered.get("index")
    answers = answered.get("answers")
    if not (isinstance(index, int) and 0 <= index < len(steps) and questions_of(steps[index])):
        return False
    if not (
        isinstance(answers, list)
        and all(isinstance(answer, str) and len(answer) <= 200 for answer in answers)
    ):
        return False
    was_hidden = predict.hidden(lesson.stem, index, steps[index])
    predict.record(lesson.stem, steps, index, answers, lesson.traced.source)
    return was_hidden and lesson.switches.predict and isinstance(steps[index].get("exercise"), dict)
