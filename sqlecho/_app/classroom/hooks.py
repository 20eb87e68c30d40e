"""What the lesson page tells the classroom: an answer, a check, a step. Light on purpose.

Every function returns at once when this browser session is in no class, without importing
the classroom's database code; in a class it queues a record on the server's writer
(:mod:`.recorder`), which the page never waits for. Only the session's own
:class:`~.store.Membership` (kept server-side) is written for: nothing the browser sends names a
student or a class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from .store import Membership, Record

__all__ = [
    "CLASS_COLLECT",
    "CLASS_DB",
    "CLASS_MEMBER",
    "CLASS_VERSIONS",
    "address_params",
    "on_check",
    "on_prediction",
    "on_step",
]

CLASS_MEMBER = "_class_member"
"""The session's :class:`~.store.Membership` once its reader joined a class."""
CLASS_DB = "_class_db"
"""The database URL the membership belongs to."""
CLASS_COLLECT = "_class_collect"
"""True while the page tells the student that their exercise code is collected."""
CLASS_VERSIONS = "_class_versions"
"""Per lesson stem: the version (a digest of its text) the reader is looking at."""
_POSITION = "_class_position"


def _member() -> tuple[Membership, str] | None:
    state = st.session_state
    member, url = state.get(CLASS_MEMBER), state.get(CLASS_DB)
    return (member, url) if member is not None and isinstance(url, str) else None


def _add(member: Membership, url: str, record: Record) -> None:
    from .recorder import recorder_for  # the ORM, only once a class is in use

    recorder_for(url).add(member, record)


def _version(stem: str) -> str:
    versions = st.session_state.get(CLASS_VERSIONS)
    return str(versions.get(stem, "")) if isinstance(versions, dict) else ""


def on_prediction(stem: str, index: int, prompts: list[str], right: list[bool] | None) -> None:
    """A step's questions were answered (``right``: per question) or revealed (``None``)."""
    if (found := _member()) is None or not prompts:
        return
    from .store import AnswerRecord

    member, url = found
    for claim, prompt in enumerate(prompts):
        outcome = "revealed" if right is None else ("right" if right[claim] else "wrong")
        _add(member, url, AnswerRecord(stem, _version(stem), index, claim, prompt, outcome))


def on_check(stem: str, index: int, passed: bool, failed_clause: str | None, code: str) -> None:
    """An exercise was checked; the code goes along only while the page says it is collected."""
    if (found := _member()) is None:
        return
    from .store import AttemptRecord

    member, url = found
    kept = code if st.session_state.get(CLASS_COLLECT) is True else None
    _add(member, url, AttemptRecord(stem, _version(stem), index, passed, failed_clause, kept))


def on_step(stem: str, index: int) -> None:
    """The reader is on step ``index`` (0-based) of ``stem``: written when it changes."""
    if (found := _member()) is None or st.session_state.get(_POSITION) == (stem, index):
        return
    from .store import Position

    st.session_state[_POSITION] = (stem, index)
    _add(*found, Position(stem, index))


def address_params() -> dict[str, str]:
    """The page address's part that keeps the reader in their class (``class=KITE-427``)."""
    found = _member()
    return {"class": found[0].code} if found is not None else {}
