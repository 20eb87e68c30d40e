"""Streamlit layout shared by the app's pages: the step navigator and one step of a transcript.

Everything drawn here comes from the pure renderers (:mod:`sqlecho._render.step` and the
modules it uses); this module only places their HTML. A step is a handful of
``st.html`` blocks rather than dozens of widgets, which keeps a step change to a few milliseconds.

Streamlit forgets the state of a widget that is not drawn in a run (another page, a lesson with
one step), so the reader's position lives in plain session-state keys, and widgets are seeded
from them on every run and write back through their callbacks.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from .._render.code import esc
from .._render.css import style_tag
from .._render.diff import StepDiff
from .._render.plain import md_no_remote_images
from .._render.step import diff_summary, draw_code_only, narrative_text
from .._sandbox.admission import Admission, AdmissionLimits
from .._sandbox.databases import with_database
from .._sandbox.pool import default_pool
from .._sandbox.runner import run_sandboxed
from .._trace.options import SWITCHES, TraceOptions, trace_here
from . import keys
from .config import AppConfig
from .keyboard import use_keyboard
from .lessons import Lesson, Switches
from .store import TranscriptStore
from .traces import SandboxRunner, TraceCache, Traced, TraceRequest, keep_drawn_steps, render_step

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

__all__ = [
    "config_for",
    "navigator",
    "page_config",
    "run_admission",
    "runner_for",
    "show_step",
    "trace_cache",
    "unless_malformed",
    "use_style",
    "warm_lessons",
]

_log = logging.getLogger(__name__)

# What a reader is told about a transcript the page cannot draw: the kind of problem, never the
# exception's text (it may name server paths) nor a traceback (that goes to the server's log).
_MALFORMED = {
    KeyError: "a field is missing",
    IndexError: "a list is too short",
    TypeError: "a field has the wrong type",
    AttributeError: "a field has the wrong type",
    ValueError: "a field has a wrong value",
}


def config_for(app_root: Path) -> AppConfig:
    """The deployment settings (environment variables; lessons beside ``app.py`` by default).

    The app's frame calls this once per run and keeps the result for the page it runs. The
    settings are read once per server process and environment: every rerun (each step a reader
    takes) asks again, and reading them looks for PostgreSQL's programs and the machine's memory.
    """
    config = _settings_of_this_environment(app_root / "lessons")
    st.session_state[keys.CONFIG] = config
    return config


def _settings_of_this_environment(default_lessons: Path) -> AppConfig:
    """:func:`_settings` of ``os.environ`` as it is now."""
    return _settings(tuple(sorted(os.environ.items())), default_lessons)


@functools.lru_cache(maxsize=8)
def _settings(environ: tuple[tuple[str, str], ...], default_lessons: Path) -> AppConfig:
    """:meth:`AppConfig.from_env` of one environment (a changed one, as in tests, is read again)."""
    return AppConfig.from_env(dict(environ), default_lessons)


def page_config(app_root: Path) -> AppConfig:
    """The settings the frame read in this run (a page run on its own, as tests do, reads them)."""
    config = st.session_state.get(keys.CONFIG)
    return config if isinstance(config, AppConfig) else config_for(app_root)


def runner_for(config: AppConfig, *, trusted: bool) -> tuple[SandboxRunner, str]:
    """The runner for lessons (``trusted``) or pasted programs, and its name.

    Everything runs in the sandbox unless the operator chose ``in-process`` (``trusted`` is the
    caller's statement of which programs these are, kept for the reader of the call site).
    """
    if config.runner == "in-process":
        return _IN_PROCESS, "in-process"
    return run_sandboxed, "sandbox"


def _in_process(source: str, path: Path, options: TraceOptions, name: str, **keywords: Any) -> dict[str, Any]:
    """The in-process tracer, given a PostgreSQL database when a run asks for one (the sandbox's
    runner does that itself)."""
    return with_database(trace_here)(source, path, options, name, **keywords)


_IN_PROCESS: SandboxRunner = _in_process

# Traces kept per server process: every lesson with a few switch combinations, and the most
# recent pasted programs apart, so that a class pasting code does not push the lessons out.
# Each gets its share of SQLECHO_CACHE_MB (drawn steps have the last quarter: _render_step).
_KEPT = {"lessons": 192, "your code": 32}
_SHARE = {"lessons": 0.25, "your code": 0.5}


def _this_runs_config() -> AppConfig:
    """The settings the frame (or the page, run on its own) read in this run."""
    config = st.session_state.get(keys.CONFIG)
    return config if isinstance(config, AppConfig) else _settings_of_this_environment(Path("lessons"))


@st.cache_resource(show_spinner=False)
def _make_trace_cache(kind: str, purpose: str) -> TraceCache:
    """:data:`trace_cache` the first time (Streamlit's cache makes readers who arrive at once
    share the one the first of them made)."""
    config = _this_runs_config()
    keep_drawn_steps(config.cache_bytes // 4)
    budget = int(config.cache_bytes * _SHARE[purpose])
    folder = config.cache_dir if purpose == "lessons" else None
    store = TranscriptStore(folder, kind) if folder is not None else None
    if kind != "sandbox":
        return TraceCache(_IN_PROCESS, maxsize=_KEPT[purpose], max_bytes=budget, store=store)
    pool = default_pool(config.sandbox.pool_size, config.sandbox.limits)
    return TraceCache(run_sandboxed, maxsize=_KEPT[purpose], max_bytes=budget, pool=pool, store=store)


class _TraceCaches:
    """The trace caches of this server process, found in a dict once made: every rerun asks,
    and Streamlit's cache would hash the arguments each time."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str], TraceCache] = {}

    def __call__(self, kind: str, purpose: str = "lessons") -> TraceCache:
        """The cache for one runner kind and purpose, shared by every session of this server process.

        Made in the first run that asks for it, with that run's settings: the memory budget
        (``SQLECHO_CACHE_MB``), the pool's size and limits, and, for the lessons, the folder that
        keeps their transcripts on disk too (``SQLECHO_CACHE_DIR``), for restarts and the other
        replicas; pasted programs are never written anywhere.
        """
        made = self._made.get((kind, purpose))
        if made is None:
            made = self._made[(kind, purpose)] = _make_trace_cache(kind, purpose)
        return made

    def clear(self) -> None:
        """Forget every cache: the next call makes a new one, with that run's settings."""
        self._made.clear()
        _make_trace_cache.clear()


trace_cache = _TraceCaches()
"""The cache for one runner kind and purpose (``trace_cache(kind, purpose="lessons")``), shared by
every session of this server process; ``trace_cache.clear()`` forgets them all."""


@st.cache_resource(show_spinner=False)
def run_admission(limits: AdmissionLimits) -> Admission:
    """The server's admission of pasted runs (one per server process and settings), shared by
    every session."""
    return Admission(limits)


_ONE_OFF: list[dict[str, Any]] = [{switch.name: False} for switch in SWITCHES]
WARMED_SWITCHES = (Switches(), *(Switches(**off) for off in _ONE_OFF))
"""The runs the lesson page offers with one click: as written, and each teacher switch alone."""


def warm_requests(lessons: list[Lesson]) -> list[TraceRequest]:
    """Every lesson as written first (what every reader opens), then with each switch."""
    return [
        (lesson.source, lesson.path, switches.trace_options(), lesson.path.name)
        for switches in WARMED_SWITCHES
        for lesson in lessons
        if lesson.source is not None
    ]


# (runner kind, lessons folder) -> the cache being warmed: every rerun of the lesson page asks, and
# a dict answers it without Streamlit's hashing of the arguments.
_WARMED: dict[tuple[str, str], TraceCache] = {}


def warm_lessons(
    kind: str, lessons_dir: str, lessons: list[Lesson], cache_for: Callable[[str], TraceCache] = trace_cache
) -> TraceCache:
    """Start tracing every lesson in the background, once per server process and lessons folder
    (the first run of the lesson page calls it; later runs find it done). Returns the cache,
    ``cache_for(kind)``."""
    warmed = _WARMED.get((kind, lessons_dir))
    return warmed if warmed is not None else _warm_lessons(kind, lessons_dir, lessons, cache_for)


@st.cache_resource(show_spinner=False)
def _warm_lessons(
    kind: str, lessons_dir: str, _lessons: list[Lesson], _cache_for: Callable[[str], TraceCache]
) -> TraceCache:
    """:func:`warm_lessons` the first time (Streamlit's cache makes readers who arrive at once
    wait for the one who started it)."""
    cache = _cache_for(kind)
    # Then move what is alive (the transcripts above all: about a hundred thousand objects that
    # live as long as the server) out of the cyclic collector's sight: a full collection walks
    # every tracked object and holds the GIL meanwhile, a few hundred milliseconds that fell on
    # whichever reader's step was running. They are still freed when no longer referenced.
    cache.warm(warm_requests(_lessons), then=gc.freeze)
    _WARMED[(kind, lessons_dir)] = cache
    return cache


@contextlib.contextmanager
def unless_malformed() -> Iterator[None]:
    """Draw a transcript inside this block; if drawing fails, show one plain message instead.

    Transcripts come from a worker that runs untrusted code; the runner checks them, and this is
    the second line: a field of the wrong type must not become a traceback on the page.
    """
    try:
        yield
    except Exception as exc:  # Streamlit's own rerun/stop signals are BaseExceptions: they pass
        _log.warning("a transcript could not be drawn", exc_info=True)
        what = next((text for kind, text in _MALFORMED.items() if isinstance(exc, kind)), "it is malformed")
        st.error(f"This trace could not be shown: {what} ({type(exc).__name__}).", icon=":material/error:")


def use_style(presenter: bool, also: str = "") -> None:
    """Add the stylesheet (a style-only ``st.html`` takes no room on the page), and the page's
    own ``<style>`` elements ``also``: one block per rerun rather than one each."""
    st.html(style_tag(presenter) + also)


def _go(key: str, value: int) -> None:
    st.session_state[key] = value


def _from_widget(key: str, widget: str) -> None:
    st.session_state[key] = st.session_state[widget]


def _next(key: str, value: int, hold: Callable[[int], bool] | None) -> None:
    if hold is None or not hold(value - 2):  # the 0-based index of the step on screen
        st.session_state[key] = value


def navigator(
    titles: list[str | None],
    prefix: str,
    *,
    shortcuts: bool = True,
    hold: Callable[[int], bool] | None = None,
    onward: tuple[str, Callable[[], None]] | None = None,
    script: str = "",
) -> int:
    """The step bar: Previous/Next, "Step N of M" and the title, First/Last, and a slider;
    returns the 1-based step. It sticks to the top of the page (to the bottom on a phone).

    Args:
        titles: the title of each step (None for untitled steps); one entry per step.
        prefix: session-state prefix of this navigator (each page has its own).
        shortcuts: arrow keys, Home and End move between steps (:mod:`sqlecho._app.keyboard`),
            wherever focus is except in a text field.
        hold: called with the 0-based index of the step on screen when Next is pressed; True keeps the reader
            there (predict mode reveals an unanswered step first).
        onward: a label and a callback for the last step's Next ("Next lesson"), so that the
            last step is not a dead end.
        script: the page's own ``<script>`` elements, drawn with the keyboard's (one block per
            rerun rather than one each; with ``shortcuts`` only).
    """
    count = len(titles)
    key = keys.step(prefix)
    step = min(max(1, int(st.session_state.get(key, 1))), max(1, count))
    st.session_state[key] = step
    if shortcuts:
        use_keyboard(also=script)
    with st.container(key=keys.step_bar(prefix), gap="small"):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.button(
                "Previous",
                icon=":material/chevron_left:",
                key=keys.nav_button(prefix, "prev"),
                on_click=_go,
                args=(key, step - 1),
                disabled=step <= 1,
                help="Left arrow" if shortcuts else None,
            )
            at_end = step >= count
            if at_end and onward is not None:
                st.button(
                    onward[0],
                    icon=":material/skip_next:",
                    icon_position="right",
                    key=keys.nav_button(prefix, "next"),
                    on_click=onward[1],
                    type="primary",
                    help="Right arrow" if shortcuts else None,
                )
            else:
                st.button(
                    "Next",
                    icon=":material/chevron_right:",
                    icon_position="right",
                    key=keys.nav_button(prefix, "next"),
                    on_click=_next,
                    args=(key, step + 1, hold),
                    disabled=at_end,
                    type="primary",
                    help="Right arrow" if shortcuts else None,
                )
            title = titles[step - 1] if titles else None
            # A pasted program's cell titles are markdown, like its narratives: without images.
            label = f"**Step {step} of {count}**" + (f" · {md_no_remote_images(str(title))}" if title else "")
            st.markdown(label, width="content")
            st.button(
                "First",
                icon=":material/first_page:",
                key=keys.nav_button(prefix, "first"),
                on_click=_go,
                args=(key, 1),
                disabled=step <= 1,
                type="tertiary",
                help="Home" if shortcuts else None,
            )
            st.button(
                "Last",
                icon=":material/last_page:",
                icon_position="right",
                key=keys.nav_button(prefix, "last"),
                on_click=_go,
                args=(key, count),
                disabled=step >= count,
                type="tertiary",
                help="End" if shortcuts else None,
            )
        if count > 1:
            st.session_state[keys.step_widget(prefix)] = step
            st.slider(
                "Go to step",
                1,
                count,
                key=keys.step_widget(prefix),
                on_change=_from_widget,
                args=(key, keys.step_widget(prefix)),
                label_visibility="collapsed",
            )
    return step


def _database(where: DeltaGenerator, html: str) -> None:
    """The committed tables, folded below the objects (open by default; the reader may fold them)."""
    expander = where.expander(
        "Database: committed rows",
        icon=":material/table:",
        expanded=True,
        key=keys.DATABASE_WIDGET,
        on_change="rerun",
    )
    if expander.open:
        expander.html(html)


# Opened, the whole program shows the step's lines, not line 1: its box scrolls to them.
_TO_CURRENT_LINE = """<script>
(() => {
  const doc = window.parent && window.parent.document ? window.parent.document : document;
  const code = doc.querySelector('.st-key-w_whole .sqe-code');
  const line = code && code.querySelector('.sqe-current');
  if (line) code.scrollTop = Math.max(0, line.offsetTop - code.offsetTop - code.clientHeight / 3);
})();
</script>"""


def _whole_program(html: str) -> None:
    """An expander with every line of the program, filled only while it is open (it is large),
    the full width of the page, scrolled to the step's lines (drawn where the page is: no
    container of its own, which would be one more block to send on every step)."""
    expander = st.expander(
        "Whole program", icon=":material/code:", key=keys.WHOLE_PROGRAM_WIDGET, on_change="rerun"
    )
    if expander.open:
        expander.html(html)
        st.html(_TO_CURRENT_LINE, unsafe_allow_javascript=True)


_COLUMNS = [3, 2, 2]
"""Code, events, objects: the code gets the most (a line of Python is wider than an event)."""


def show_step(
    traced: Traced,
    index: int,
    *,
    other: Traced | None = None,
    diff: StepDiff | None = None,
    label: str = "",
    lesson_title: str | None = None,
    reveal: bool = True,
    headings: tuple[str, str] | None = None,
) -> None:
    """Draw step ``index`` (0-based): narrative, code, events, objects, session and tables.

    With ``other`` (the same program run with a teacher's switch, or on another database) and
    ``diff``, the two runs are drawn side by side with the statements that only one of them sent
    marked, under ``headings`` (default: "As written" and "With <label>"). With ``reveal``
    False only the narrative and the code are drawn (predict mode, before the reader answers).
    """
    text = narrative_text(traced.steps[index], lesson_title, expectations=reveal, source=traced.source)
    if not reveal:
        # Predict mode: the question and the code, in the column they always have.
        code, _events, _objects = st.columns(_COLUMNS, gap="small")
        with code:
            if text:
                st.markdown(md_no_remote_images(text))  # a pasted program's narrative loads nothing remote
            st.html(draw_code_only(traced, index))
        return
    if other is None or diff is None:
        # Three columns whose tops do not move from step to step: the narrative sits with the
        # code, so a long one pushes neither the events nor the objects down.
        blocks = render_step(traced, index)
        code, events, objects = st.columns(_COLUMNS, gap="small")
        with code:
            if text:
                st.markdown(md_no_remote_images(text))  # a pasted program's narrative loads nothing remote
            st.html(blocks.code)
        events.html(blocks.events)
        objects.html(blocks.objects + blocks.sessions)
        _database(objects, blocks.tables)
        _whole_program(blocks.whole)
        return
    if text:
        st.markdown(md_no_remote_images(text))
    mine, theirs_heading = headings or ("As written", f"With {label}")
    blocks = render_step(traced, index, marks=diff.only_a, heading=mine)
    st.html(diff_summary(diff, label) + blocks.code)
    _whole_program(blocks.whole)
    left, right = st.columns(2, gap="medium")
    left.html(blocks.events)
    if diff.b_index is None:
        right.html(
            f'<div class="sqe-h">{esc(theirs_heading)}</div><div class="sqe-empty">The program never gets here.</div>'
        )
        return
    theirs = render_step(other, diff.b_index, marks=diff.only_b, heading=theirs_heading)
    right.html(theirs.events)
    left, right = st.columns(2, gap="medium")
    left.html(blocks.objects + blocks.database)
    right.html(theirs.objects + theirs.database)
