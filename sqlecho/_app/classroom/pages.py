"""The classroom on screen: the student's join bar on the lesson page, and the teacher page.

Neither imports the database code at start-up: the lesson page of a reader in no class draws a
"Join a class" box in the sidebar and nothing else; the store is imported when a code is typed
or a class is opened.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import streamlit as st

from ..._render.plain import md_literal
from ..config import AppConfig
from ..lessons import Lesson, discover_lessons
from ..store import source_digest
from . import hooks
from .codes import MAX_NICKNAME, RateLimiter, Refused, normal_code

if TYPE_CHECKING:
    from .store import ClassInfo, ClassStore, ClassSummary, LessonSummary, Membership, TeacherPass

__all__ = ["REFRESH_S", "class_bar", "teacher_page"]

REFRESH_S = 2.0
"""How often the teacher view reads the class again."""

_TAB_LIMITS = RateLimiter(5, 60.0)
"""Wrong join codes or teacher keys per browser tab: five a minute."""
_SERVER_LIMITS = RateLimiter(200, 60.0)
"""Wrong ones over the whole server: a ceiling new tabs do not raise."""

_TAB = "_class_tab"
_WANTED = "_class_wanted"
_DISMISSED = "_class_dismissed"
_ERROR = "_class_error"
_TEACHER = "_class_teacher"
_TEACHER_KEY = "_class_teacher_link"
_ENDED = "_class_ended"
_SETTINGS_TTL_S = 10.0
_settings_cache: dict[tuple[str, int], tuple[float, ClassInfo | None | str]] = {}
_settings_lock = threading.Lock()

NICKNAME_WIDGET = "w_class_nickname"
CODE_WIDGET = "w_class_code"


def _tab() -> str:
    return str(st.session_state.setdefault(_TAB, secrets.token_hex(8)))


def _limited() -> str | None:
    if _TAB_LIMITS.blocked(_tab()) or _SERVER_LIMITS.blocked("*"):
        return "Too many wrong codes or links: wait a minute, then try again."
    return None


def _wrong() -> None:
    _TAB_LIMITS.count(_tab())
    _SERVER_LIMITS.count("*")


def _store(url: str) -> ClassStore:
    from .recorder import store_for  # the ORM, only now that a class is in use

    return store_for(url)


def _join(url: str) -> None:
    """The join form's button: check the code and the nickname, then join."""
    state = st.session_state
    state.pop(_ERROR, None)
    raw_code = str(state.get(_WANTED) or "")
    nickname = state.get(NICKNAME_WIDGET)
    if problem := _limited():
        state[_ERROR] = problem
        return
    code = normal_code(raw_code)
    try:
        from .codes import check_nickname

        check_nickname(nickname)  # refused before any database is asked
        info = _store(url).find(code) if code else None
        if info is None:
            _wrong()
            state[_ERROR] = "No class has this code: check it with your teacher."
            return
        member = _store(url).join(info, nickname)
    except Refused as exc:
        state[_ERROR] = str(exc)
        return
    except RuntimeError:  # StoreUnavailable, without importing it here
        state[_ERROR] = (
            "The class database does not answer: follow the lesson on your own; "
            "class results are not being saved."
        )
        return
    state[hooks.CLASS_MEMBER] = member
    state[hooks.CLASS_DB] = url
    state.pop(_WANTED, None)


def _want(code_key: str) -> None:
    state = st.session_state
    state[_WANTED] = str(state.get(code_key) or "").strip()[:40]
    state.pop(_DISMISSED, None)
    state.pop(_ERROR, None)


def _leave() -> None:
    state = st.session_state
    for key in (hooks.CLASS_MEMBER, hooks.CLASS_DB, hooks.CLASS_COLLECT, _WANTED):
        state.pop(key, None)
    state[_DISMISSED] = True


def _settings(url: str, class_id: int) -> ClassInfo | None | str:
    """The class's settings, read at most every few seconds per server (a string: why not)."""
    key = (url, class_id)
    with _settings_lock:
        cached = _settings_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < _SETTINGS_TTL_S:
            return cached[1]
    try:
        found: ClassInfo | None | str = _store(url).settings(class_id)
    except RuntimeError as exc:
        found = str(exc)
    with _settings_lock:
        if len(_settings_cache) > 1000:
            _settings_cache.clear()
        _settings_cache[key] = (time.monotonic(), found)
    return found


def _own_records(url: str, member: Membership) -> None:
    try:
        rows = _store(url).own_records(member)
    except (Refused, RuntimeError) as exc:
        st.caption(md_literal(str(exc)))
        return
    if not rows:
        st.caption("Nothing recorded yet.")
        return
    st.dataframe(rows, hide_index=True)


def class_bar(config: AppConfig, lesson: Lesson) -> None:
    """The lesson page's classroom part: join a class, or say which one this reader is in.

    Call it once per run, before the step; it records nothing itself.
    """
    url = config.class_db
    state = st.session_state
    member = state.get(hooks.CLASS_MEMBER)
    if url is None:
        return
    if member is not None:
        versions = state.setdefault(hooks.CLASS_VERSIONS, {})
        if lesson.stem not in versions:
            versions[lesson.stem] = source_digest(lesson.source or "")[:12]
        _member_bar(url, member)
        return
    asked = st.query_params.get("class")
    if asked and _WANTED not in state and not state.get(_DISMISSED):
        state[_WANTED] = asked.strip()[:40]
    with st.sidebar.popover("Join a class", icon=":material/groups:"):
        st.text_input("Class code", key=CODE_WIDGET, max_chars=20, placeholder="KITE-427")
        st.button("Join", key="class_code_join", on_click=_want, args=(CODE_WIDGET,))
    wanted = state.get(_WANTED)
    if not wanted or state.get(_DISMISSED):
        return
    with st.container(border=True, key="class_join"):
        shown = normal_code(str(wanted)) or str(wanted)
        st.markdown(f"**Join class {md_literal(shown)}.** Choose a nickname: no e-mail, no password.")
        with st.form("class_join_form", border=False, enter_to_submit=True):
            # No max_chars: the browser would cut a long name short silently; it is refused instead.
            st.text_input("Nickname", key=NICKNAME_WIDGET, help=f"Up to {MAX_NICKNAME} characters.")
            st.form_submit_button("Join the class", type="primary", on_click=_join, args=(url,))
        st.caption(
            "Your teacher will see your answers to the predictions (right, wrong or revealed) and "
            "whether your exercise checks passed, under this nickname. Nothing else."
        )
        if error := state.get(_ERROR):
            st.error(md_literal(str(error)), icon=":material/block:")
        st.button("Work without the class", key="class_dismiss", type="tertiary", on_click=_leave)


def _member_bar(url: str, member: Membership) -> None:
    from .recorder import recorder_for

    state = st.session_state
    settings = _settings(url, member.class_id)
    failing = recorder_for(url).failing or (settings if isinstance(settings, str) else None)
    collect = not isinstance(settings, str) and settings is not None and settings.collect_code
    state[hooks.CLASS_COLLECT] = collect
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="class_bar"):
        line = f"In class **{md_literal(member.code)}** as **{md_literal(member.nickname)}**."
        if settings is None:
            line = f"Class {md_literal(member.code)} has ended: nothing more is recorded."
        elif collect:
            line += " Your teacher collects the code of your exercise checks."
        st.markdown(line, width="content")
        with st.popover("What is recorded about me", icon=":material/visibility:"):
            st.caption(
                "Your answers to predictions (right, wrong or revealed), your exercise checks "
                "(passed or which clause failed)" + (", with your code" if collect else "") + "."
            )
            if st.button("Show my records", key="class_show_mine"):
                _own_records(url, member)
        st.button("Leave the class", key="class_leave", type="tertiary", on_click=_leave)
    if failing:
        st.warning(
            "Class results are not being saved right now (the class database does not answer). "
            "Your own work goes on as usual.",
            icon=":material/cloud_off:",
        )


# The teacher page ------------------------------------------------------------------------------


def _start(url: str) -> None:
    state = st.session_state
    state.pop(_ERROR, None)
    try:
        info, key = _store(url).start_class(
            retention_days=int(state.get("w_class_retention") or 30),
            collect_code=bool(state.get("w_class_collect")),
        )
    except Refused as exc:
        state[_ERROR] = str(exc)
        return
    except RuntimeError as exc:
        state[_ERROR] = f"The class database cannot be used: {exc}."
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
    if problem := _limited():
        state[_ERROR] = problem
        return
    normal = normal_code(code)
    try:
        info = _store(url).open_as_teacher(normal, key[:200]) if normal else None
    except RuntimeError as exc:
        state[_ERROR] = f"The class database cannot be used: {exc}."
        return
    if info is None:
        _wrong()
        state[_ERROR] = "This teacher link does not open a class (wrong, ended or expired)."
        return
    from .store import TeacherPass

    state[_TEACHER] = (TeacherPass(info.id, key), info.code)


def _end(url: str) -> None:
    state = st.session_state
    teacher, code = state[_TEACHER]
    try:
        _store(url).end(teacher)
    except (Refused, RuntimeError) as exc:
        state[_ERROR] = str(exc)
        return
    state.pop(_TEACHER, None)
    state[_ENDED] = code
    st.query_params.clear()


def _configure(url: str, **changes: str) -> None:
    state = st.session_state
    teacher, _code = state[_TEACHER]
    values = {name: state[widget] for name, widget in changes.items()}
    try:
        _store(url).configure(teacher, **values)
    except (Refused, RuntimeError) as exc:
        state[_ERROR] = str(exc)


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
    if error := state.pop(_ERROR, None):
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
        info = _store(url).configure(teacher)
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
            data=lambda: _store(url).csv(teacher),
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
        summary = _store(url).summary(teacher)
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
