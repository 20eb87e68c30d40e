"""The lesson page: pick a lesson, step through it, flip the teacher's switches.

The page address is part of the view: ``?lesson=<stem>&step=<N>`` (plus the switches when they
are not the defaults, and ``&db=postgresql`` for the lesson on SQLite and PostgreSQL side by side) is read when it is new to this browser session, and rewritten whenever the
reader moves, so that the address bar always links to exactly what is on screen.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable

import streamlit as st

from .._render.explain import describe_tampering, describe_truncation
from .._render.plain import md_literal
from .._trace.options import SWITCHES
from . import keys, predict
from .browser_steps import BrowserLesson, steps_in_browser
from .classroom import hooks as classroom
from .classroom.join import class_bar
from .config import AppConfig
from .edit_step import (
    EDIT_KEY_SCRIPT,
    edit_link,
    edit_steps_button,
    editing,
    editor_style,
    live_edit,
    read_edit_link,
    show_edited,
)
from .exercise import exercise_panel
from .lessons import DATABASE_NAMES, Lesson, Switches, clamp_step, discover_lessons, link_params, parse_link
from .traces import Traced, TraceFailed
from .view import navigator, runner_for, show_step, trace_cache, unless_malformed, use_style, warm_lessons

__all__ = ["lesson_page", "numbered"]

_SWITCHES = (*(switch.name for switch in SWITCHES), "presenter", "predict")
_LABELS = {
    **{switch.name: switch.name for switch in SWITCHES},
    "presenter": "Presenter mode",
    "predict": "Predict mode",
}
_HELP = {
    **{
        switch.name: f"Off: run the lesson again as if every Session had {switch.name}=False, and compare."
        for switch in SWITCHES
    },
    "presenter": "Larger type for a projector, with the sidebar folded away.",
    "predict": "Hide what a step did until the reader answers its question (or presses Reveal).",
}


_DATABASE_HELP = (
    "PostgreSQL: run the lesson on a fresh PostgreSQL database too, and show SQLite and PostgreSQL "
    "side by side with what PostgreSQL does differently."
)

_WHAT_TO_DO = {
    True: "Read each step and its code, answer the question below it (or press Reveal), then press Next (→).",
    False: "Read each step and its code, see what it sent to the database, then press Next (→).",
}
"""The first screen's one line of instructions (predict mode on or off)."""


def _read_address(stems: list[str], postgres_unavailable: str | None) -> list[str]:
    """Apply the address when it is new to this session; returns messages about its bad parts."""
    state = st.session_state
    params = st.query_params.to_dict()
    if keys.LESSON in state and (not params or params == state.get(keys.ADDRESS)):
        return []  # our own address, or back from another page: keep the reader's place
    request = parse_link(params, stems, postgres_unavailable=postgres_unavailable)
    state[keys.LESSON] = request.lesson
    state[keys.REQUESTED_STEP] = request.step
    for name in _SWITCHES:
        state[keys.switch(name)] = getattr(request.switches, name)
    state[keys.DB] = request.switches.database
    state[keys.ADDRESS] = params
    return request.problems + read_edit_link(params, request.lesson)


def _write_address(lesson: str, step: int, switches: Switches) -> None:
    params = {**link_params(lesson, step, switches), **edit_link(lesson)} | classroom.address_params()
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    st.session_state[keys.ADDRESS] = params


def _lesson_changed() -> None:
    st.session_state[keys.LESSON] = st.session_state[keys.LESSON_WIDGET]
    st.session_state[keys.step(keys.LESSON_STEPS)] = 1


def _open_lesson(stem: str) -> None:
    """The last step's "Next lesson": the next lesson, at its first step."""
    st.session_state[keys.LESSON] = stem
    st.session_state[keys.step(keys.LESSON_STEPS)] = 1


def numbered(lessons: list[Lesson]) -> dict[str, str]:
    """Each lesson's title as the sidebar lists it: with its number (``19. Stale data``), the
    number the lessons' own text uses (the file's leading digits, else its place in the list)."""
    return dict(_numbered(tuple((lesson.stem, lesson.title) for lesson in lessons)))


@functools.lru_cache(maxsize=4)
def _numbered(lessons: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """:func:`numbered` of (stem, title) pairs, made once per list of lessons (every rerun asks)."""
    out = []
    for place, (stem, title) in enumerate(lessons, 1):
        digits = re.match(r"\d+", stem)
        out.append((stem, f"{int(digits[0]) if digits else place}. {title}"))
    return tuple(out)


def _open_unless_held(stem: str, last: int, hold: Callable[[int], bool] | None) -> None:
    if hold is None or not hold(last):  # the last step's question is revealed before leaving
        _open_lesson(stem)


def _onward(
    lessons: list[Lesson], stem: str, last: int, hold: Callable[[int], bool] | None
) -> tuple[str, Callable[[], None]] | None:
    """The label and action of the last step's Next: the lesson after ``stem``, if any (with
    ``hold``, the last step, 0-based ``last``, is revealed first when its question is unanswered)."""
    stems = [lesson.stem for lesson in lessons]
    at = stems.index(stem)
    if at + 1 >= len(stems):
        return None
    following = stems[at + 1]
    action = functools.partial(_open_unless_held, following, last, hold)
    return f"Next lesson: {numbered(lessons)[following]}", action


def _switch_flipped(name: str) -> None:
    st.session_state[keys.switch(name)] = st.session_state[keys.switch_widget(name)]


def _database_chosen(widget: str) -> None:
    # Cleared by a click on the chosen option: the choice stays (there is always a database).
    st.session_state[keys.DB] = st.session_state[widget] or st.session_state.get(keys.DB, "sqlite")


def _database_switch(where: object, widget: str, postgres_unavailable: str | None) -> None:
    """The Database switch (SQLite / PostgreSQL), greyed out with the reason when PostgreSQL
    cannot be had here."""
    state = st.session_state
    if postgres_unavailable is not None:
        state[keys.DB] = "sqlite"
    state[widget] = state.get(keys.DB, "sqlite")
    where.segmented_control(  # type: ignore[attr-defined]
        "Database",
        list(DATABASE_NAMES),
        key=widget,
        format_func=DATABASE_NAMES.__getitem__,
        on_change=_database_chosen,
        args=(widget,),
        disabled=postgres_unavailable is not None,
        help=postgres_unavailable or _DATABASE_HELP,
    )
    if postgres_unavailable is not None:
        where.caption(f"PostgreSQL is unavailable: {postgres_unavailable}")  # type: ignore[attr-defined]


def _sidebar(lessons: list[Lesson], postgres_unavailable: str | None) -> Switches:
    """The lesson list and the teacher's switches; returns the switches."""
    state = st.session_state
    titles = numbered(lessons)
    state[keys.LESSON_WIDGET] = state[keys.LESSON]
    st.sidebar.radio(
        "Lessons",
        list(titles),
        key=keys.LESSON_WIDGET,
        format_func=titles.__getitem__,
        on_change=_lesson_changed,
    )
    st.sidebar.markdown("**Teacher switches**")
    for name in _SWITCHES:
        state[keys.switch_widget(name)] = bool(state.get(keys.switch(name), name != "presenter"))
        st.sidebar.toggle(
            _LABELS[name],
            key=keys.switch_widget(name),
            help=_HELP[name],
            on_change=_switch_flipped,
            args=(name,),
        )
    _database_switch(st.sidebar, keys.DB_WIDGET, postgres_unavailable)
    return Switches(
        **{name: bool(state[keys.switch_widget(name)]) for name in _SWITCHES},
        database=str(state.get(keys.DB, "sqlite")),
    )


def _trace(config: AppConfig, lesson: Lesson, switches: Switches) -> Traced:
    if lesson.source is None:
        raise TraceFailed(f"{lesson.path.name} is not UTF-8 text")
    cache = trace_cache(runner_for(config, trusted=True)[1])
    request = (lesson.source, lesson.path, switches.trace_options(), lesson.path.name)
    if traced := cache.peek(*request):
        return traced  # the common case: no spinner, whose thread would cost more than the lookup
    with st.spinner(f"Running {lesson.path.name} and recording its SQL…", show_time=True):
        return cache.trace(*request)


def _in_browser(
    config: AppConfig,
    lessons: list[Lesson],
    lesson: Lesson,
    traced: Traced,
    other: Traced | None,
    switches: Switches,
) -> None:
    """The steps for the browser to step through (``SQLECHO_STEPPING=browser``)."""
    stems = [item.stem for item in lessons]
    at = stems.index(lesson.stem)
    following = stems[at + 1] if at + 1 < len(stems) else None
    label = trace_cache(runner_for(config, trusted=True)[1]).diff(traced, other).label if other else ""
    step = int(st.session_state[keys.step(keys.LESSON_STEPS)])
    _write_address(lesson.stem, step, switches)
    if traced.transcript.get("tampered"):
        st.error(md_literal(describe_tampering(traced.transcript["tampered"])))
    if traced.transcript.get("truncated"):
        st.warning(md_literal(describe_truncation(traced.transcript["truncated"])))
    browser = BrowserLesson(
        config=config,
        stem=lesson.stem,
        title=lesson.title,
        path=lesson.path,
        traced=traced,
        other=other,
        label=label,
        switches=switches,
        next_lesson=(following, numbered(lessons)[following]) if following else None,
        stems=tuple(stems),
    )
    steps_in_browser(browser, step, functools.partial(_write_address, lesson.stem, switches=switches))


def _database_refused(other: Traced | None) -> str | None:
    """Why the compared run got no database (its only step's error says), if that is what happened."""
    if other is None or other.transcript.get("database") is None:
        return None
    steps = other.steps
    error = steps[0].get("error") if len(steps) == 1 else None
    if isinstance(error, dict) and error.get("type") == "DatabaseUnavailable" and not steps[0].get("events"):
        return str(error.get("message", ""))
    return None


def _headings(switches: Switches, other: Traced) -> tuple[str, str] | None:
    """The two columns' headings when the compared run is on another database: "SQLite" and
    "PostgreSQL 15.18 (with autoflush=False)"; None for the switches' own headings."""
    if switches.database == "sqlite":
        return None
    database = other.transcript.get("database")
    version = database.get("version", "") if isinstance(database, dict) else ""
    name = f"{DATABASE_NAMES[switches.database]} {version}".rstrip()
    changed = [f"{switch.name}=False" for switch in SWITCHES if not getattr(switches, switch.name)]
    return "On SQLite", f"On {name}" + (f" (with {', '.join(changed)})" if changed else "")


def lesson_page(config: AppConfig) -> None:
    """Draw the lesson page with the deployment's settings (read by the app's frame)."""
    state = st.session_state
    lessons = discover_lessons(config.lessons_dir)
    if not lessons:
        st.info(f"No lessons yet: add `NN_topic.py` files to `{config.lessons_dir}`.")
        return
    kind = runner_for(config, trusted=True)[1]
    if kind == "sandbox":
        # Every lesson, traced in the background while this reader reads (or read from disk).
        # Not in-process: there a trace holds the whole process (its stdout, its working folder),
        # and that runner is for one person on their own machine, not a class arriving at once.
        warm_lessons(kind, str(config.lessons_dir), lessons)
    stems = [lesson.stem for lesson in lessons]
    problems = _read_address(stems, config.postgres_unavailable)
    if state.get(keys.LESSON) not in stems:
        state[keys.LESSON], state[keys.step(keys.LESSON_STEPS)] = stems[0], 1
    switches = _sidebar(lessons, config.postgres_unavailable)
    st.set_page_config(initial_sidebar_state="collapsed" if switches.presenter else "auto")
    use_style(switches.presenter, also=editor_style(switches.presenter))  # live edit's: one block
    chosen = state[keys.LESSON]
    lesson = next(item for item in lessons if item.stem == chosen)
    try:
        traced = _trace(config, lesson, Switches())
    except TraceFailed as exc:
        st.error(f"The lesson {lesson.path.name} could not be traced: {md_literal(str(exc))}")
        return
    other = None
    if switches.changed:
        try:
            other = _trace(config, lesson, switches)
        except TraceFailed as exc:
            problems.append(
                f"The run with the switches could not be traced ({exc}); showing the lesson as written."
            )
        refused = _database_refused(other)
        if refused:
            problems.append(f"PostgreSQL could not be had for this run: {refused} Showing SQLite only.")
            other = None
    with unless_malformed():  # a transcript the page cannot draw is one message, never a traceback
        steps = traced.steps
        if keys.REQUESTED_STEP in state:
            state[keys.step(keys.LESSON_STEPS)], message = clamp_step(
                state.pop(keys.REQUESTED_STEP), len(steps)
            )
            if message:
                problems.append(message)
        st.title(lesson.title, anchor=False)
        if not switches.presenter:
            first = state[keys.step(keys.LESSON_STEPS)] == 1
            # The first step's instructions sit beside the button; on the others it is alone, and
            # drawn so: one block fewer on every step.
            row = (
                st.container(horizontal=True, vertical_alignment="center", gap="small")
                if first
                else contextlib.nullcontext()
            )
            with row:
                if first:
                    st.caption(_WHAT_TO_DO[switches.predict], width="content")
                # Presenter mode one click away: its sidebar switch sits below the list of lessons.
                st.button(
                    "Presenter mode",
                    icon=":material/slideshow:",
                    key=keys.ENTER_PRESENTER_BUTTON,
                    type="tertiary",
                    on_click=state.update,
                    kwargs={"presenter": True},
                    help=_HELP["presenter"],
                )
        for problem in problems:
            st.warning(md_literal(problem), icon=":material/link_off:")  # the link's text, not markdown
        if switches.presenter:
            st.button(
                "Leave presenter mode",
                icon=":material/close_fullscreen:",
                key=keys.LEAVE_PRESENTER_BUTTON,
                type="tertiary",
                on_click=state.update,
                kwargs={"presenter": False},
            )
            # The sidebar is folded away in presenter mode: predict mode gets its own switch here.
            state[keys.PREDICT_PRESENTER_WIDGET] = switches.predict
            st.toggle(
                _LABELS["predict"],
                key=keys.PREDICT_PRESENTER_WIDGET,
                on_change=lambda: state.update(predict=state[keys.PREDICT_PRESENTER_WIDGET]),
            )
            _database_switch(st, keys.DB_PRESENTER_WIDGET, config.postgres_unavailable)
        class_bar(config, lesson)  # join a class, or which one this reader is in
        if not steps:
            st.info("This lesson has no code to run.")
            return
        if config.stepping == "browser" and not editing(lesson.stem):
            edit_steps_button(lesson.stem)
            _in_browser(config, lessons, lesson, traced, other, switches)
            return
        if switches.predict:
            predict.show_score(lesson.stem, steps)  # at the top, kept in the browser
        hold = predict.hold_unanswered(lesson.stem, steps) if switches.predict else None
        onward = _onward(lessons, lesson.stem, len(steps) - 1, hold)
        titles = [step.get("title") for step in steps]
        # The E key of live edit rides in the keyboard's block: one block per rerun, not two.
        index = navigator(titles, keys.LESSON_STEPS, hold=hold, onward=onward, script=EDIT_KEY_SCRIPT) - 1
        _write_address(lesson.stem, index + 1, switches)  # before drawing: the address updates sooner
        classroom.on_step(lesson.stem, index)
        if traced.transcript.get("tampered"):
            st.error(md_literal(describe_tampering(traced.transcript["tampered"])))
        if traced.transcript.get("truncated"):
            st.warning(md_literal(describe_truncation(traced.transcript["truncated"])))
        step = steps[index]
        if edited := live_edit(config, lesson, traced, index, switches):  # the editor, the edited run
            show_edited(traced, index, edited, lesson.title)
            predict.after_text(step)
            return
        reveal = not (switches.predict and predict.hidden(lesson.stem, index, step))
        if switches.predict and reveal:
            predict.predict_panel(lesson.stem, steps, index, traced.source)  # the marks, above what happened
        if other is None:
            show_step(traced, index, lesson_title=lesson.title, reveal=reveal)
        else:
            diff = trace_cache(runner_for(config, trusted=True)[1]).diff(traced, other)
            show_step(
                traced,
                index,
                other=other,
                diff=diff.for_a(index),
                label=diff.label,
                lesson_title=lesson.title,
                reveal=reveal,
                headings=_headings(switches, other),
            )
        if not reveal:
            predict.predict_panel(lesson.stem, steps, index, traced.source)  # the question, below the code
            return  # nothing of the answer on the page: no "after" text, no exercise, no check
        predict.after_text(step)
        exercise_panel(config, lesson.stem, traced.source, steps, index, lesson.path)
        if switches.predict and index == len(steps) - 1:
            predict.show_summary(lesson.stem, steps)
