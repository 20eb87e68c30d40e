"""One definition of a statement and its kind: every counter agrees on one table of statements."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine

from sqlecho import capture
from sqlecho._render.events import sql_total
from sqlecho._transcript.checks import COUNTERS
from sqlecho._transcript.counting import count, is_statement, keyword_of, kind_of, statements_per_line
from sqlecho._transcript.expect import count_events
from sqlecho.testing import assert_count

# What a learner runs, and what each line is: (SQL, keyword, statement?). Sent in this order
# on one connection, after SQLAlchemy's own "BEGIN (implicit)".
TABLE = [
    ("BEGIN", "BEGIN", False),
    ("SAVEPOINT a", "SAVEPOINT", True),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)", "CREATE", True),
    ("PRAGMA main.table_info('t')", "PRAGMA", True),
    ("INSERT INTO t (x) VALUES (1) RETURNING id", "INSERT", True),
    ("WITH c AS (SELECT 1 AS n) SELECT n FROM c", "SELECT", True),
    ("WITH gone AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM gone)", "DELETE", True),
    ("UPDATE t SET x = 2 WHERE 1 = 0", "UPDATE", True),
    ("RELEASE a", "RELEASE", True),
    ("SAVEPOINT b", "SAVEPOINT", True),
    ("ROLLBACK TO b", "ROLLBACK TO", True),
    ("DROP TABLE t", "DROP", True),
    ("COMMIT", "COMMIT", False),
]
# Kind (as counters name it) -> how many of the table, SQLAlchemy's own BEGIN (implicit) included.
EXPECTED = {
    "select": 1,
    "insert": 1,
    "update": 1,
    "delete": 1,
    "savepoint": 4,
    "create": 1,
    "drop": 1,
    "pragma": 1,
    "begin": 2,
    "commit": 1,
    "rollback": 1,  # SQLAlchemy ends the connection's transaction when it closes
}


@pytest.fixture(scope="module")
def recorded() -> tuple[Any, list[dict[str, Any]]]:
    engine = create_engine("sqlite://")
    with capture(engine) as cap, engine.connect() as connection:
        for sql, _keyword, _statement in TABLE:
            connection.exec_driver_sql(sql)
    return cap, cap.events


@pytest.mark.parametrize(("sql", "keyword", "statement"), TABLE)
def test_each_statement_is_classified_once(sql: str, keyword: str, statement: bool) -> None:
    assert keyword_of(sql) == keyword
    assert is_statement({"kind": "sql", "statement": sql}) is statement
    assert kind_of(sql) == ("savepoint" if keyword in ("RELEASE", "ROLLBACK TO") else keyword.lower())


def test_every_counter_agrees_on_the_table(recorded: tuple[Any, list[dict[str, Any]]]) -> None:
    cap, events = recorded
    statements = sum(statement for _sql, _keyword, statement in TABLE)
    step = {"index": 0, "title": "t", "events": events}
    # The total: capture, assert_count, checks, Expect:, the gutter, the panels.
    assert cap.count() == len(cap.statements) == statements == 11
    assert len(COUNTERS["sql"][0](events)) == statements
    assert count_events(events, "statements", None) == statements
    assert sum(statements_per_line([step]).values()) == statements
    assert sql_total(step) == statements
    assert_count(cap, total=statements)
    for kind, expected in EXPECTED.items():
        assert count(events, kind) == expected, kind
        assert cap.count(kind) == expected, kind
        assert_count(cap, **{kind: expected})
        if kind in COUNTERS:
            assert len(COUNTERS[kind][0](events)) == expected, kind
        if kind != "savepoint":
            assert count_events(events, kind.upper(), None) == expected, kind
    # Expect: names the savepoint statements apart.
    assert [count_events(events, word, None) for word in ("SAVEPOINT", "RELEASE", "ROLLBACK TO")] == [2, 1, 1]
