"""The student's side of a class on the lesson page: join with a code and a nickname, then see
which class one is in (and whether exercise code is being collected).

It does not import the database code at start-up: the lesson page of a reader in no class draws a
"Join a class" box in the sidebar and nothing else; the store is imported when a code is typed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import streamlit as st

from ..._render.plain import md_literal
from ..config import AppConfig
from ..lessons import Lesson
from ..store import source_digest
from . import access, hooks
from .codes import MAX_NICKNAME, Refused, normal_code

if TYPE_CHECKING:
    from .store import ClassInfo, Membership

__all__ = ["CODE_WIDGET", "JOIN_WIDGET", "NICKNAME_WIDGET", "class_bar"]

_WANTED = "_class_wanted"
_DISMISSED = "_class_dismissed"
_SETTINGS_TTL_S = 10.0
_settings_cache: dict[tuple[str, int], tuple[float, ClassInfo | None | str]] = {}
_settings_lock = threading.Lock()

NICKNAME_WIDGET = "w_class_nickname"
CODE_WIDGET = "w_class_code"
JOIN_WIDGET = "w_class_join"
"""The "Join a class" popover: True while it is open."""


def _join(url: str) -> None:
    """The join form's button: check the code and the nickname, then join."""
    state = st.session_state
    state.pop(access.ERROR, None)
    raw_code = str(state.get(_WANTED) or "")
    nickname = state.get(NICKNAME_WIDGET)
    if problem := access.limited():
        state[access.ERROR] = problem
        return
    code = normal_code(raw_code)
    try:
        from .codes import check_nickname

        check_nickname(nickname)  # refused before any database is asked
        info = access.store(url).find(code) if code else None
        if info is None:
            access.wrong()
            state[access.ERROR] = "No class has this code: check it with your teacher."
            return
        member = access.store(url).join(info, nickname)
    except Refused as exc:
        state[access.ERROR] = str(exc)
        return
    except RuntimeError:  # StoreUnavailable, without importing it here
        state[access.ERROR] = (
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
    state.pop(access.ERROR, None)


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
        found: ClassInfo | None | str = access.store(url).settings(class_id)
    except RuntimeError as exc:
        found = str(exc)
    with _settings_lock:
        if len(_settings_cache) > 1000:
            _settings_cache.clear()
        _settings_cache[key] = (time.monotonic(), found)
    return found


def _own_records(url: str, member: Membership) -> None:
    try:
        rows = access.store(url).own_records(member)
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
    # Its field and button are drawn only while it is open: a step (every rerun) of a reader who
    # is not joining sends two widgets fewer.
    popover = st.sidebar.popover("Join a class", icon=":material/groups:", key=JOIN_WIDGET, on_change="rerun")
    if popover.open:
        with popover:
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
        if error := state.get(access.ERROR):
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
