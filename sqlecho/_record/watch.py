"""Where the pytest plugin learns about every capture a test opens, and the allow rules open
now: plain lists, in a module that imports nothing, because the plugin touches them for every
test of every project that installs sqlecho, and must not import SQLAlchemy to do so."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the checker only: at run time this module imports nothing
    from .capture import Capture

__all__ = ["allowances", "opened", "requests_in_flight", "watch"]

# The list that each capture entered from now on is appended to (None: nobody watches).
_WATCHING: list[list[Capture] | None] = [None]

# Rules of ``allow_n_plus_one`` blocks that are open: stamped on each statement captured meanwhile
# (a list for the whole process, not a context variable: the loads of a request may run in a
# framework's worker thread).
_ALLOWANCES: list[object] = []


# Requests a test's HTTP client is sending now (``GET /heroes/``): stamped on each statement
# captured meanwhile, for allow rules by request. Process-wide for the same reason.
_REQUESTS: list[str] = []


def watch(captures: list[Capture] | None) -> None:
    """Append every capture entered from now on to ``captures`` (None: stop)."""
    _WATCHING[0] = captures


def opened(capture: Capture) -> None:
    """Called by a capture when its block starts."""
    captures = _WATCHING[0]
    if captures is not None:
        captures.append(capture)


def allowances() -> list[object]:
    """The open ``allow_n_plus_one`` rules (the list itself: the test API adds and removes them)."""
    return _ALLOWANCES


def requests_in_flight() -> list[str]:
    """The requests being sent now (the list itself: the test API adds and removes them)."""
    return _REQUESTS
