"""The teacher page (``/teacher``): start a class, open it from its private link, watch it live.

It does not import the database code at start-up: the store is imported when a class is started
or opened. The student's side is :mod:`sqlecho._app.classroom.join`.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import streamlit as st

from ..._render.plain import md_literal
from ..config import AppConfig
from ..lessons import discover_lessons
from . import access
from .codes import Refused, normal_code

if TYPE_CHECKING:
    from .store import ClassSummary, LessonSummary, TeacherPass

__all__ = ["REFRESH_S", "teacher_page"]

REFRESH_S = 2.0
"""How often the teacher view reads the class again."""

_TEACHER = "_class_teacher"
_TEACHER_KEY = "_class_teacher_link"
_ENDED = "_class_ended"


def _start(url: str) -> None:
    state = st.session_state
    state.pop(access.ERROR, None)
    try:
        info, key = access.store(url).start_class(
            retention_days=int(state.get("w_class_retention") or 30),
            collect_code=bool(state.get("w_class_collect")),
        )
    except Refused as exc:
        state[access.ERROR] = str(exc)
        return
    except RuntimeError as exc:
        state[access.ERROR] = f"The class database cannot be used: {exc}."
        return
    from .store import TeacherPass

    state[_TEACHER] = (TeacherPass(info.id, key), info.code)
    state[_TEACHER_KEY] = key
    st.query_params.from_dict({"class": info.code, "key": key})


def _open_from_link(url: str) -> None:
    """Open the class of a teacher link (``?class=CODE&key=KEY``), rate limited like join codes."""
    state = st.session_state
    code, key = st.query_params.get("class"), st.query_params.get("key")
    if not code or not key or _TEACHER in state:
        return
    if problem := access.limited():
        state[access.ERROR] = problem
        return
    normal = normal_code(code)
    try:
        info = access.store(url).open_as_teacher(normal, key[:200]) if normal else None
    except RuntimeError as exc:
        state[access.ERROR] = f"The class database cannot be used: {exc}."
        return
    if info is None:
        access.wrong()
        state[access.ERROR] = "This teacher link does not open a class (wrong, ended or expired)."
        return
    from .store import TeacherPass

    state[_TEACHER] = (TeacherPass(info.id, key), info.code)


def _end(url: str) -> None:
    state = st.session_state
    teacher, code = state[_TEACHER]
    try:
        access.store(url).end(teacher)
    except (Refused, RuntimeError) as exc:
        state[access.ERROR] = str(exc)
        return
    state.pop(_TEACHER, None)
    state[_ENDED] = code
    st.query_params.clear()


def _configure(url: str, **changes: str) -> None:
    state = st.session_state
    teacher, _code = state[_TEACHER]
    values = {name: state[widget] for name, widget in changes.items()}
    try:
        access.store(url).configure(teacher, **values)
    except (Refused, RuntimeError) as exc:
        state[access.ERROR] = str(exc)


def _base() -> str:
    try:
        found = str(st.context.url or "")
    except Exception:  # no browser behind this run (a test)
        found = ""
    return found.split("?", 1)[0].rstrip("/").removesuffix("/teacher")


def teacher_page(config: AppConfig) -> None:
    """The teacher page: start a class, or open one from its teacher link, and watch it live."""
    state = st.session_state
    st.title("Teach a class", anchor=False)
    url = config.class_db
    if url is None:
        st.info("Classes are turned off on this server (SQLECHO_CLASS_DB=off).")
        return
    _open_from_link(url)
    if error := state.pop(access.ERROR, None):
        st.error(md_literal(str(error)), icon=":material/block:")
    if _TEACHER not in state:
        if ended := state.pop(_ENDED, None):
            st.success(f"Class {ended} has ended: all its records are deleted.")
        st.markdown(
            "Start a class: students join with its code and a nickname, and you see, live, which "
            "steps they mispredict. No accounts; see what is stored in docs/classroom.md."
        )
        with st.form("class_start", border=True):
            st.number_input("Keep the records for (days)", 1, 365, 30, key="w_class_retention")
            st.toggle(
                "Collect exercise code",
                key="w_class_collect",
                help="Students are told when it is on; off, only whether their checks passed is kept.",
            )
            st.form_submit_button("Start a class", type="primary", on_click=_start, args=(url,))
        return
    teacher, code = state[_TEACHER]
    base = _base()
    key = state.get(_TEACHER_KEY) or st.query_params.get("key") or ""
    st.markdown(f"## Class code: `{code}`")
    st.markdown(
        f"Students open **{html.escape(base or '')}/?class={code}** or type `{code}` under "
        "**Join a class** in the sidebar, then choose a nickname."
    )
    with st.expander("Your private teacher link: keep it to yourself", icon=":material/key:"):
        st.code(f"{base}/teacher?{urlencode({'class': code, 'key': key})}", language=None)
        st.caption("Anyone with this link sees the class's results. It is shown only here.")
    _live(url, teacher, config)
    _controls(url, teacher)


def _controls(url: str, teacher: TeacherPass) -> None:
    try:
        info = access.store(url).configure(teacher)
    except (Refused, RuntimeError) as exc:
        st.error(md_literal(str(exc)))
        return
    state = st.session_state
    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium", key="class_controls"):
        state["w_class_collect_now"] = info.collect_code
        st.toggle(
            "Collect exercise code",
            key="w_class_collect_now",
            on_change=_configure,
            args=(url,),
            kwargs={"collect_code": "w_class_collect_now"},
            help="Students see that it is on.",
        )
        state["w_class_keep_now"] = info.retention_days
        st.number_input(
            "Keep records (days)",
            1,
            365,
            key="w_class_keep_now",
            on_change=_configure,
            args=(url,),
            kwargs={"retention_days": "w_class_keep_now"},
            width=200,
        )
        st.download_button(
            "Download CSV",
            data=lambda: access.store(url).csv(teacher),
            file_name=f"class-{info.code}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="class_csv",
        )
        with st.popover("End class", icon=":material/delete:"):
            st.markdown("Ending the class deletes every record of it, now. Students can no longer join.")
            st.button(
                "End class and delete its records",
                type="primary",
                on_click=_end,
                args=(url,),
                key="class_end",
            )


@st.fragment(run_every=REFRESH_S)
def _live(url: str, teacher: TeacherPass, config: AppConfig) -> None:
    """What the class is doing, read again every :data:`REFRESH_S` seconds (no page reload)."""
    started = time.perf_counter()
    try:
        summary = access.store(url).summary(teacher)
    except Refused as exc:
        st.error(md_literal(str(exc)))
        return
    except RuntimeError:
        st.warning("The class database does not answer; the view will catch up when it does.")
        return
    titles = {lesson.stem: lesson.title for lesson in discover_lessons(config.lessons_dir)}
    _draw(summary, titles)
    st.caption(
        f"{summary.students} student{'s' * (summary.students != 1)} joined · updated every "
        f"{REFRESH_S:g} s · read in {1000 * (time.perf_counter() - started):.0f} ms"
    )


def _presenter_link(stem: str, step: int) -> str:
    return "./?" + urlencode({"lesson": stem, "step": step + 1, "presenter": 1})


def _draw(summary: ClassSummary, titles: dict[str, str]) -> None:
    if not summary.lessons:
        st.info("No answers yet: they appear here as students answer.")
        return
    if summary.most_mispredicted:
        st.markdown("### Most mispredicted")
        st.markdown(
            "\n".join(
                f"{place}. **{md_literal(titles.get(stem, stem))}, step {step + 1}**: {wrong} "
                f"student{'s' * (wrong != 1)} wrong · [open in presenter mode]({_presenter_link(stem, step)})"
                for place, (stem, step, wrong) in enumerate(summary.most_mispredicted, 1)
            )
        )
    for stem in sorted(summary.lessons):
        lesson = summary.lessons[stem]
        st.markdown(f"### {md_literal(titles.get(stem, stem))}")
        if lesson.steps:
            st.html(_heatmap(stem, lesson))
        if lesson.exercises:
            st.html(_exercises(lesson))
        if lesson.here_now:
            now = " · ".join(f"step {step + 1}: {count}" for step, count in sorted(lesson.here_now.items()))
            st.markdown(f"On each step now: {now}")


_TABLE_CSS = """<style>
.sqe-class table{border-collapse:collapse;font-size:1rem;margin:.25rem 0 1rem}
.sqe-class th,.sqe-class td{border:1px solid #d0d4dc;padding:.3rem .6rem;text-align:center}
.sqe-class th[scope=row]{text-align:left;font-weight:600}
.sqe-class caption{caption-side:top;text-align:left;color:#555;padding:.2rem 0}
.sqe-class .sqe-prompt{color:#444;font-size:.8em}
</style>"""


def _heatmap(stem: str, lesson: LessonSummary) -> str:
    """The step-by-question table of wrong answers, each cell shaded by its share of wrong ones."""
    width = max((max(step.claims) + 1 for step in lesson.steps.values() if step.claims), default=1)
    head = "".join(f'<th scope="col">Question {n + 1}</th>' for n in range(width))
    rows = []
    for number in sorted(lesson.steps):
        step = lesson.steps[number]
        cells = []
        for claim in range(width):
            cell = step.claims.get(claim)
            if cell is None:
                cells.append("<td></td>")
                continue
            seen = cell.right + cell.wrong + cell.revealed
            share = cell.wrong / seen if seen else 0.0
            # Red on white, never so dark that the count cannot be read.
            colour = f"rgba(220,38,38,{0.08 + 0.6 * share:.2f})" if cell.wrong else "transparent"
            cells.append(
                f'<td class="sqe-heat" data-step="{number + 1}" data-question="{claim + 1}" '
                f'data-wrong="{cell.wrong}" style="background:{colour}" title="{html.escape(cell.prompt)}">'
                f"<b>{cell.wrong}</b> wrong of {seen}"
                + (f" ({cell.revealed} revealed)" if cell.revealed else "")
                + f'<br><small class="sqe-prompt">{html.escape(cell.prompt)}</small></td>'
            )
        rows.append(f'<tr><th scope="row">Step {number + 1}</th>{"".join(cells)}</tr>')
    caption = "Wrong answers per step and question"
    return (
        f'{_TABLE_CSS}<div class="sqe-class" data-lesson="{html.escape(stem)}"><table aria-label="{caption}">'
        f"<caption>{caption}</caption><thead><tr><th>Step</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _exercises(lesson: LessonSummary) -> str:
    rows = []
    for number in sorted(lesson.exercises):
        item = lesson.exercises[number]
        rate = f"{100 * item.passed / item.tried:.0f}%" if item.tried else "-"
        failed = html.escape(item.most_failed or "-")
        rows.append(
            f'<tr class="sqe-exercise" data-step="{number + 1}"><th scope="row">Step {number + 1}</th>'
            f"<td>{item.passed} of {item.tried}</td><td>{rate}</td><td>{item.attempts}</td><td>{failed}</td></tr>"
        )
    return (
        f'{_TABLE_CSS}<div class="sqe-class"><table aria-label="Exercises"><caption>Exercises</caption>'
        "<thead><tr><th>Exercise</th><th>Passed</th><th>Pass rate</th><th>Checks</th>"
        f"<th>Most failed clause</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
