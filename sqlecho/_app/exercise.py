"""Exercises in the app: edit the cell, press **Check**, see each clause ticked or crossed.

The lesson with the edited cell in place runs in the sandbox like a program on "Your code"; the
check (:mod:`sqlecho._transcript.checks`) is measured against the edited cell's step, found by
its title. A failed check shows the exercise's hint. Passed exercises are kept per lesson in the
browser session.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from .._render.plain import md_literal, md_no_remote_images
from .._sandbox.admission import AdmissionRefused, place_message
from .._sandbox.launch import sandbox_status
from .._trace.exercises import exercises_for
from .._trace.options import TraceOptions
from .._transcript.checks import CheckSyntaxError, ClauseResult, evaluate, parse_check
from ..transcript import Step
from . import keys
from .classroom import hooks as classroom
from .config import AppConfig
from .programs import PROGRAM_NAME, code_turned_off, program_path, run_memory
from .traces import Traced, TraceFailed, render_step
from .view import run_admission, runner_for, trace_cache

__all__ = ["exercise_panel", "passed_exercises", "starters", "syntax_problem", "with_cell"]


def with_cell(source: str, lines: list[int], code: str) -> str:
    """``source`` with its lines ``lines[0]..lines[1]`` (1-based, inclusive) replaced by ``code``."""
    all_lines = source.splitlines()
    first, last = lines
    return "\n".join([*all_lines[: first - 1], *code.splitlines(), *all_lines[last:]]) + "\n"


def passed_exercises(stem: str) -> set[int]:
    """The 0-based steps of lesson ``stem`` whose exercise the reader has passed in this session."""
    passed: dict[str, set[int]] = st.session_state.setdefault(keys.EXERCISES_PASSED, {})
    return passed.setdefault(stem, set())


def _check(stem: str, index: int) -> None:
    st.session_state[keys.exercise(stem, index, "ran")] = st.session_state[keys.exercise(stem, index, "code")]
    st.session_state[keys.exercise(stem, index, "tell")] = True  # one press, one attempt for a class


def _keep_draft(stem: str, index: int) -> None:
    # The editor's own key is forgotten once another step is drawn: keep the text apart.
    st.session_state[keys.exercise(stem, index, "draft")] = st.session_state[
        keys.exercise(stem, index, "code")
    ]


def syntax_problem(code: str) -> str | None:
    """A one-line message when the edited cell is not valid Python (compiled, never run)."""
    try:
        compile(code, "your cell", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" on line {exc.lineno}" if exc.lineno else ""
        return f"Your cell has a syntax error{where}: {exc.msg}. Fix it and press Check again."
    except ValueError:  # a NUL byte
        return "Your cell contains a character Python cannot read (a NUL byte)."
    return None


def _results(step: Step | None, check: str, source: str | None = None) -> list[ClauseResult] | str:
    try:
        clauses = parse_check(check)
    except CheckSyntaxError as exc:
        return f"This exercise's check is malformed: {exc}"
    if step is None:
        return "The edited program never reached this cell (an earlier step failed?)."
    return evaluate(clauses, step, source)


def starters(lesson: Path | None) -> dict[str, str]:
    """Each exercise's starter by cell title (``exercises/<stem>.py`` beside the lesson); none
    when the lesson has no such file or it cannot be read (the editor then opens with the cell)."""
    if lesson is None:
        return {}
    try:
        return {item.title: item.starter for item in exercises_for(lesson) if item.starter}
    except (OSError, UnicodeDecodeError, ValueError):
        return {}


def _show_solution(stem: str, index: int) -> None:
    st.session_state[keys.exercise(stem, index, "solution")] = True


def exercise_panel(
    config: AppConfig,
    stem: str,
    source: str,
    steps: list[Step],
    index: int,
    lesson: Path | None = None,
) -> None:
    """The exercise of step ``index`` (0-based) of a lesson, when the step is one.

    The editor opens with the exercise's starter (from ``lesson``'s exercise file) when it has
    one: code that runs and fails the check. The lesson's own cell is the solution, offered only
    after a failed check.
    """
    step = steps[index]
    exercise = step.get("exercise")
    if not isinstance(exercise, dict):
        return
    state = st.session_state
    done = passed_exercises(stem)
    st.subheader("Exercise", anchor=False)
    check = str(exercise.get("check", ""))
    if task := str(exercise.get("task") or ""):
        st.markdown(md_no_remote_images(task))
    st.markdown(f"Your code passes when: **{md_literal(check)}**")
    if not config.allow_user_code:
        st.info("Editing is turned off on this server; the check is shown for reading.")
        return
    code_key = keys.exercise(stem, index, "code")
    first, last = step["lines"]
    solution = "\n".join(source.splitlines()[first - 1 : last])
    draft_key = keys.exercise(stem, index, "draft")
    if draft_key not in state:
        state[draft_key] = starters(lesson).get(str(step.get("title")), solution).rstrip("\n")
    state[code_key] = state[draft_key]
    st.text_area("The cell's code", key=code_key, height=160, on_change=_keep_draft, args=(stem, index))
    st.button(
        "Check",
        key=keys.exercise(stem, index, "check"),
        type="primary",
        icon=":material/task_alt:",
        on_click=_check,
        args=(stem, index),
    )
    ran = state.get(keys.exercise(stem, index, "ran"))
    if ran is None:
        return
    if problem := syntax_problem(ran):
        if state.pop(keys.exercise(stem, index, "tell"), False):
            classroom.on_check(stem, index, False, "a syntax error", ran)
        st.error(md_literal(problem), icon=":material/error:")
        return
    kind = runner_for(config, trusted=False)[1]
    if off := code_turned_off(config, str(sandbox_status()) if kind == "sandbox" else ""):
        st.info(f"{off} The check is shown for reading.")
        return
    cache = trace_cache(kind, "your code")
    request = (with_cell(source, step["lines"], ran), program_path(kind), TraceOptions(), PROGRAM_NAME)
    ticket = None
    try:
        if kind == "sandbox" and cache.peek(*request, config.user_limits) is None:
            # A pasted run like any other: it waits for its place in the server's admission.
            ticket = run_admission(config.admission).enter(run_memory(cache, config.user_limits))
        with st.spinner("Running the lesson with your cell in the sandbox…", show_time=True):
            if ticket is not None and ticket.waiting:
                st.caption(place_message(ticket.ahead()))
                ticket.wait()
            traced = cache.trace(*request, limits=config.user_limits, private=kind != "in-process")
    except AdmissionRefused as exc:
        st.warning(str(exc))
        return
    except TraceFailed as exc:
        st.error(f"Your cell could not be traced: {md_literal(str(exc))}")
        return
    finally:
        if ticket is not None:
            ticket.leave()
    results = _check_results(traced, step, check)
    passed = _show_results(traced, stem, index, step, results, str(exercise.get("hint", "")), done)
    _tell_class(stem, index, ran, results)
    count = sum(1 for item in steps if isinstance(item.get("exercise"), dict))
    st.caption(f"Exercises passed in this lesson: {len(done)} of {count}.")
    if passed:
        return
    if state.get(keys.exercise(stem, index, "solution")):
        st.markdown("**A solution** (the lesson's own cell):")
        st.code(solution, language="python")
    else:
        st.button(
            "Show a solution",
            key=keys.exercise(stem, index, "show_solution"),
            icon=":material/visibility:",
            on_click=_show_solution,
            args=(stem, index),
            help="After a try of your own: the lesson's code for this cell.",
        )


def _tell_class(stem: str, index: int, code: str, results: list[ClauseResult] | str) -> None:
    """A check in a class is recorded once per press of Check (not at each rerun that shows it)."""
    if not st.session_state.pop(keys.exercise(stem, index, "tell"), False):
        return
    if isinstance(results, str):
        classroom.on_check(stem, index, False, results[:300], code)
        return
    failed = next((item.clause.text for item in results if not item.passed), None)
    classroom.on_check(stem, index, failed is None, failed, code)


def _found(traced: Traced, step: Step) -> int | None:
    """The index of ``step`` (by its title) in the run of the reader's code."""
    return next((n for n, item in enumerate(traced.steps) if item.get("title") == step.get("title")), None)


def _check_results(traced: Traced, step: Step, check: str) -> list[ClauseResult] | str:
    """The check's clauses measured on the reader's run of ``step`` (a message when it cannot be)."""
    found = _found(traced, step)
    return _results(traced.steps[found] if found is not None else None, check, traced.source)


def _show_results(
    traced: Traced,
    stem: str,
    index: int,
    step: Step,
    results: list[ClauseResult] | str,
    hint: str,
    done: set[int],
) -> bool:
    """Mark each clause of the check (``results``, :func:`_check_results`); True when every one passed."""
    found = _found(traced, step)
    if isinstance(results, str):
        st.error(md_literal(results))
        return False
    lines = [
        # Words, not icons: a screen reader reads an icon's name ("check", "close").
        f"- {'**right**' if item.passed else '**wrong**'}: {md_literal(str(item))}"
        for item in results
    ]
    if all(item.passed for item in results):
        done.add(index)
        st.success("Check passed.\n\n" + "\n".join(lines), icon=":material/check_circle:")
    else:
        st.error("Not yet.\n\n" + "\n".join(lines), icon=":material/cancel:")
        if hint:
            st.info(f"Hint: {md_literal(hint)}", icon=":material/lightbulb:")
    if found is not None:
        blocks = render_step(traced, found, heading="What your cell did")
        st.html(blocks.events)
    return all(item.passed for item in results)
