"""Assertions on captured SQL, for tests: exact statements, counts, none at all, no N+1.

    from sqlecho import capture
    from sqlecho.testing import AtMost, assert_count, assert_sql

    with capture(engine) as cap:
        session.add(Hero(name="Deadpond"))
        session.commit()
    assert_sql(cap, ["INSERT INTO hero (name) VALUES (?)"])
    assert_count(cap, insert=1, select=AtMost(1))

Every failure is an :class:`SQLAssertionError` (an ``AssertionError``) whose message
holds everything needed to fix the test: a unified diff of expected against captured
SQL and the numbered list of captured statements with the line that sent each.

The names load on first use, like :mod:`sqlecho`'s: the pytest plugin lives in this package,
and importing it must not import the ORM.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .assertions import AtLeast, AtMost, NoSQL, assert_count, assert_sql, no_sql
    from .eager import UnusedEagerLoad, assert_no_unused_eager_loads, unused_eager_loads
    from .listing import EmptyCaptureWarning, SQLAssertionError
    from .nplusone import AllowNPlusOne, NPlusOne, allow_n_plus_one, assert_no_n_plus_one, n_plus_one_report
    from .requests import RequestCapture, capture_requests

# Public name -> the module of this package that defines it.
_HOMES = {
    "AllowNPlusOne": ".nplusone",
    "AtLeast": ".assertions",
    "AtMost": ".assertions",
    "EmptyCaptureWarning": ".listing",
    "NPlusOne": ".nplusone",
    "NoSQL": ".assertions",
    "allow_n_plus_one": ".nplusone",
    "RequestCapture": ".requests",
    "SQLAssertionError": ".listing",
    "UnusedEagerLoad": ".eager",
    "assert_count": ".assertions",
    "assert_no_n_plus_one": ".nplusone",
    "assert_no_unused_eager_loads": ".eager",
    "assert_sql": ".assertions",
    "capture_requests": ".requests",
    "n_plus_one_report": ".nplusone",
    "no_sql": ".assertions",
    "unused_eager_loads": ".eager",
}

__all__ = [
    "AllowNPlusOne",
    "AtLeast",
    "AtMost",
    "EmptyCaptureWarning",
    "NPlusOne",
    "NoSQL",
    "RequestCapture",
    "SQLAssertionError",
    "UnusedEagerLoad",
    "allow_n_plus_one",
    "assert_count",
    "assert_no_n_plus_one",
    "assert_no_unused_eager_loads",
    "assert_sql",
    "capture_requests",
    "n_plus_one_report",
    "no_sql",
    "unused_eager_loads",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    value.__module__ = __name__  # users see sqlecho.testing.AtMost, not the private module's path
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (what ``dir()`` and tab completion should offer)."""
    return list(__all__)
