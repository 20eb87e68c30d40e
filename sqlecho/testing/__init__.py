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
"""

from .assertions import AtLeast, AtMost, NoSQL, assert_count, assert_sql, no_sql
from .listing import SQLAssertionError
from .nplusone import NPlusOne, assert_no_n_plus_one, n_plus_one_report

__all__ = [
    "AtLeast",
    "AtMost",
    "NPlusOne",
    "NoSQL",
    "SQLAssertionError",
    "assert_count",
    "assert_no_n_plus_one",
    "assert_sql",
    "n_plus_one_report",
    "no_sql",
]
