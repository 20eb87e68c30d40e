"""Exercises in the app: edit the cell, press **Check**, see each clause ticked or crossed.

The lesson with the edited cell in place runs in the sandbox like a program on "Your code"; the
check (:mod:`sqlecho._transcript.checks`) is measured against the edited cell's step, found by
its title. A failed check shows the exercise's hint. Passed exercises are kept per lesson in the
browser session.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from .._render.plain import md_literal
from .._sandbox.admission import AdmissionRefused, place_message
from .._sandbox.launch import sandbox_status
from .._trace.options import TraceOptions
from .._transcript.checks import CheckSyntaxError, ClauseResult, evaluate, parse_check
from . import keys
from .config import AppConfig
from .traces import Traced, TraceFailed, render_step
from .view import run_admission, runner_for, trace_cache
from .your_code_page import _NAME, _program_path, code_turned_off, run_memory

__all__ = ["exercise_panel", "passed_exercises", "with_cell"]


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


def _results(step: dict[str, Any] | None, check: str) -> list[ClauseResult] | str:
    try:
        clauses = parse_check(check)
    except CheckSyntaxError as exc:
        return f"This exercise's check is malformed: {exc}"
    if step is None:
        return "The edited program never reached this cell (an earlier step failed?)."
    return evaluate(clauses, step)


def exercise_panel(
    config: AppConfig, stem: str, source: str, steps: list[dict[str, Any]], index: int
) -> None:
    """The exercise of step ``index`` (0-based) of a lesson, when the step is one."""
    step = steps[index]
    exercise = step.get("exercise")
    if not isinstance(exercise, dict):
        return
    state = st.session_state
    done = passed_exercises(stem)
    st.subheader("Exercise", anchor=False)
    check = str(exercise.get("check", ""))
    st.markdown(f"Change the code so that it passes the check: **{md_literal(check)}**")
    if not config.allow_user_code:
        st.info("Editing is turned off on this server; the check is shown for reading.")
        return
    code_key = keys.exercise(stem, index, "code")
    first, last = step["lines"]
    state.setdefault(code_key, "\n".join(source.splitlines()[first - 1 : last]))
    st.text_area("The cell's code", key=code_key, height=160)
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
    kind = runner_for(config, trusted=False)[1]
    if off := code_turned_off(config, str(sandbox_status()) if kind == "sandbox" else ""):
        st.info(f"{off} The check is shown for reading.")
        return
    cache = trace_cache(kind, "your code")
    request = (with_cell(source, step["lines"], ran), _program_path(kind), TraceOptions(), _NAME)
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
    _show_results(traced, stem, index, step, check, str(exercise.get("hint", "")), done)
    count = sum(1 for item in steps if isinstance(item.get("exercise"), dict))
    st.caption(f"Exercises passed in this lesson: {len(done)} of {count}.")


def _show_results(
    traced: Traced, stem: str, index: int, step: dict[str, Any], check: str, hint: str, done: set[int]
) -> None:
    found = next((n for n, item in enumerate(traced.steps) if item.get("title") == step.get("title")), None)
    results = _results(traced.steps[found] if found is not None else None, check)
    if isinstance(results, str):
        st.error(md_literal(results))
        return
    lines = [
        f"- {':material/check:' if item.passed else ':material/close:'} {md_literal(str(item))}"
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
