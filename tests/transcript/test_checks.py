"""The exercise check language (CONTRACT section 5): every counter, every clause, every malformed form."""

from __future__ import annotations

from typing import Any

import pytest

from sqlecho._transcript.checks import COUNTERS, CheckSyntaxError, evaluate, parse_check


def _sql(statement: str, cause: str = "query") -> dict[str, Any]:
    return {
        "kind": "sql",
        "statement": statement,
        "parameters": [],
        "executemany": False,
        "cause": cause,
        "line": 3,
    }


STEP: dict[str, Any] = {
    "events": [
        {"kind": "begin", "line": 3},
        _sql("CREATE TABLE book (id INTEGER)", "ddl"),
        _sql("INSERT INTO book (title) VALUES (?)", "flush"),
        _sql("INSERT INTO book (title) VALUES (?)", "autoflush"),
        _sql("SELECT book.id FROM book"),
        _sql("WITH x AS (SELECT 1) SELECT * FROM x"),
        _sql("SELECT author.id FROM author WHERE author.id = ?", "lazy load Book.author"),
        _sql("SELECT book.title FROM book WHERE book.id = ?", "load expired Book#1"),
        _sql("SELECT book.id, book.title FROM book WHERE book.id = ?", "refresh Book#2"),
        _sql("UPDATE book SET title=? WHERE book.id = ?", "bulk update"),
        _sql("DELETE FROM book WHERE book.id = ?", "flush"),
        _sql("COMMIT", "execute"),  # transaction control sent as text: a COMMIT, no statement
        {"kind": "commit", "line": 3},
        {"kind": "begin", "line": 4},
        {"kind": "rollback", "line": 4},
        {"kind": "output", "text": "Ada: 2\n", "line": 5},
        {"kind": "output", "text": "done\n", "line": 5},
    ],
    "objects": [{"label": "Book#1", "state": "detached"}, {"label": "Book#2", "state": "persistent"}],
    "error": None,
}

EXPECTED_COUNTS = {
    "sql": 10,
    "select": 5,
    "insert": 2,
    "update": 1,
    "delete": 1,
    "begin": 2,
    "commit": 2,
    "rollback": 1,
    "flush": 2,
    "autoflush": 1,
    "lazy_load": 1,
    "load_expired": 1,
    "refresh": 1,
    "ddl": 1,
}


def _measure(check: str, step: dict[str, Any] = STEP) -> list[tuple[bool, str]]:
    return [(result.passed, result.measured) for result in evaluate(parse_check(check), step)]


def test_every_counter_is_tested() -> None:
    assert set(EXPECTED_COUNTS) == set(COUNTERS)


@pytest.mark.parametrize(("counter", "count"), EXPECTED_COUNTS.items())
def test_each_counter_counts_its_events(counter: str, count: int) -> None:
    assert _measure(f"{counter} == {count}")[0][0]
    assert not _measure(f"{counter} == {count + 1}")[0][0]


@pytest.mark.parametrize(
    ("check", "passed"),
    [
        ("select == 5", True),
        ("select <= 5", True),
        ("select <= 4", False),
        ("select >= 5", True),
        ("select >= 6", False),
        ("select < 6", True),
        ("select < 5", False),
        ("select > 4", True),
        ("select > 5", False),
        ("select==5", True),
    ],
)
def test_every_operator(check: str, passed: bool) -> None:
    assert _measure(check) == [(passed, "5 SELECTs")]


def test_what_was_measured_reads_as_a_sentence() -> None:
    assert _measure("insert == 1; update == 0; lazy_load == 1; refresh == 0") == [
        (False, "2 INSERTs"),
        (False, "1 UPDATE"),
        (True, "1 lazy load"),
        (False, "1 refresh"),
    ]
    result = evaluate(parse_check("select <= 2"), STEP)[0]
    assert str(result) == "select <= 2: 5 SELECTs"


def test_prints_looks_for_text_in_the_steps_output() -> None:
    assert _measure("prints 'Ada: 2'; prints \"done\"") == [(True, "printed 'Ada: 2\\ndone'")] * 2
    assert _measure("prints 'Ada: 3'") == [(False, "printed 'Ada: 2\\ndone'")]
    assert _measure("prints 'a; b'", {"events": [{"kind": "output", "text": "a; b"}]}) == [
        (True, "printed 'a; b'")
    ]
    assert _measure("prints 'x'", {"events": []}) == [(False, "printed nothing")]


def test_raises_compares_the_steps_error_type() -> None:
    failed = {**STEP, "error": {"type": "DetachedInstanceError", "message": "m", "line": 3, "expected": True}}
    assert _measure("raises DetachedInstanceError", failed) == [(True, "raised DetachedInstanceError")]
    assert _measure("raises nothing", failed) == [(False, "raised DetachedInstanceError")]
    assert _measure("raises nothing") == [(True, "raised nothing")]
    assert _measure("raises KeyError") == [(False, "raised nothing")]


def test_state_looks_up_the_object_by_label() -> None:
    assert _measure("state Book#1 detached; state Book#2 detached; state Book#3 pending") == [
        (True, "Book#1 is detached"),
        (False, "Book#2 is persistent"),
        (False, "there is no Book#3"),
    ]


def test_one_trailing_semicolon_and_spaces_are_fine() -> None:
    assert [clause.text for clause in parse_check("  select == 5 ;  raises nothing;  ")] == [
        "select == 5",
        "raises nothing",
    ]


@pytest.mark.parametrize(
    ("check", "clause", "reason"),
    [
        ("", "", "the check is empty"),
        ("   ", "   ", "the check is empty"),
        ("select == 1;; insert == 1", "", "empty clause"),
        ("; select == 1", "", "empty clause"),
        ("selects == 1", "selects == 1", "unknown counter 'selects'"),
        ("select = 1", "select = 1", "expected COUNTER OP N"),
        ("select != 1", "select != 1", "expected COUNTER OP N"),
        ("select == -1", "select == -1", "'-1' is not a whole number"),
        ("select == 1.5", "select == 1.5", "'1.5' is not a whole number"),
        ("select == two", "select == two", "'two' is not a whole number"),
        ("select", "select", "expected COUNTER OP N"),
        ("SELECT == 1", "SELECT == 1", "expected COUNTER OP N"),
        ("prints Ada", "prints Ada", "prints needs quoted text"),
        ("prints", "prints", "prints needs quoted text"),
        ("prints 'Ada\"", "prints 'Ada\"", "never closed"),
        ("prints 'Ada", "prints 'Ada", "never closed"),
        ("raises", "raises", "raises needs an exception name"),
        ("raises Key Error", "raises Key Error", "raises needs an exception name"),
        ("state Book#1", "state Book#1", "state needs an object label and a state"),
        ("state Book detached", "state Book detached", "state needs an object label and a state"),
        ("state Book#1 gone", "state Book#1 gone", "'gone' is not a state"),
        ("select == 1 lazy_load == 0", "select == 1 lazy_load == 0", "expected COUNTER OP N"),
    ],
)
def test_malformed_checks_name_the_clause_and_the_reason(check: str, clause: str, reason: str) -> None:
    with pytest.raises(CheckSyntaxError) as caught:
        parse_check(check)
    assert caught.value.clause == clause.strip() or caught.value.clause == clause
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"bad clause {caught.value.clause!r}: ")
