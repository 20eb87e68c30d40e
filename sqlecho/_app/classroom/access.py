"""What the classroom's two sides share: the class database, and the limits on wrong codes.

A wrong join code (a student) and a wrong teacher key (a teacher link) count against the same
limits, per browser tab and for the whole server, so that neither can be used to guess a class.
The store is imported only when it is first used: a reader in no class loads no ORM.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import streamlit as st

from .codes import RateLimiter

if TYPE_CHECKING:
    from .store import ClassStore

__all__ = ["ERROR", "limited", "store", "tab", "wrong"]

_TAB_LIMITS = RateLimiter(5, 60.0)
"""Wrong join codes or teacher keys per browser tab: five a minute."""
_SERVER_LIMITS = RateLimiter(200, 60.0)
"""Wrong ones over the whole server: a ceiling new tabs do not raise."""

_TAB = "_class_tab"
ERROR = "_class_error"
"""The session key of the last refusal, shown once on the next run of the page."""


def tab() -> str:
    """This browser tab's own random name (what the per-tab limit counts by)."""
    return str(st.session_state.setdefault(_TAB, secrets.token_hex(8)))


def limited() -> str | None:
    """Why this tab may not try another code now, or None when it may."""
    if _TAB_LIMITS.blocked(tab()) or _SERVER_LIMITS.blocked("*"):
        return "Too many wrong codes or links: wait a minute, then try again."
    return None


def wrong() -> None:
    """Count a wrong code or key against this tab and the server."""
    _TAB_LIMITS.count(tab())
    _SERVER_LIMITS.count("*")


def store(url: str) -> ClassStore:
    """The class database at ``url``."""
    from .recorder import store_for  # the ORM, only now that a class is in use

    return store_for(url)
