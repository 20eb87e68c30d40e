"""The exercise check language (CONTRACT section 5): every counter, every clause, every malformed form."""

from __future__ import annotations

from typing import Any

import pytest

from sqlecho._transcript.checks import COUNTERS, CheckSyntaxError, evaluate, parse_check, parse_clauses


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
    return [(result.passed, result.measured) for result in evaluate(parse_clauses(check), step)]


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
    result = evaluate(parse_clauses("select <= 2"), STEP)[0]
    assert str(result) == "select <= 2: 5 SELECTs (line 3)"


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


# -- clauses about meaning -----------------------------------------------------------------------

MEANING: dict[str, Any] = {
    "events": [
        {**_sql("SELECT book.id FROM book WHERE book.id = ?"), "lock": "FOR UPDATE", "line": 7},
        {**_sql("UPDATE book SET copies=? WHERE book.id = ?", "flush"), "rowcount": 1, "line": 9},
        {**_sql("UPDATE book SET copies=? WHERE 1 = 0", "bulk update"), "rowcount": 0, "line": 10},
        {"kind": "transition", "object": "Book#1", "from": "persistent", "to": "detached", "line": 11},
        {"kind": "output", "text": "Ada: 2\nAda: 20\n", "line": 12},
    ],
    "objects": [
        {
            "label": "Book#1",
            "state": "detached",
            "names": ["book"],
            "values": {"id": 1, "copies": 5},
            "expired": ["title", "year"],
        },
        {
            "label": "Book#2",
            "state": "persistent",
            "names": ["again"],
            "values": {"title": "Paper Moons"},
            "expired": [],
        },
    ],
    "tables": {"book": {"columns": ["id", "copies"], "rows": [[1, 5], [2, 4]]}},
    "error": None,
}
SOURCE = "\n" * 6 + "book = session.get(Book, 1)\n"


@pytest.mark.parametrize(
    ("check", "passed", "measured"),
    [
        ("value Book#1.copies == 5", True, "Book#1.copies is 5"),
        ("value Book#1.copies == 4", False, "Book#1.copies is 5"),
        ("value Book#1.title == 'x'", False, "Book#1.title is expired (the next access loads it)"),
        ("value Book#2.year == 2021", False, "Book#2.year is not loaded"),
        ("value Book#2.title == 'Paper Moons'", True, "Book#2.title is 'Paper Moons'"),
        ("expired Book#1 title, year", True, "Book#1 has expired title, year"),
        ("expired Book#1 copies", False, "Book#1 has expired title, year"),
        ("loaded Book#1 id, copies", True, "Book#1 has loaded id, copies"),
        ("row book id=2 copies == 4", True, "book id=2 has copies 4"),
        ("row book id=2 copies == 5", False, "book id=2 has copies 4"),
        ("row book id=3 copies == 5", False, "book has no committed row id=3"),
        ("rows book == 2", True, "book has 2 rows"),
        ("rows author == 2", False, "the database has no table author"),
        ("sql contains 'FOR UPDATE'", True, "1 of 3 statements contain it"),
        ("sql contains 'where 1 = 0'", True, "1 of 3 statements contain it"),
        ("sql contains 'NOWAIT'", False, "none of 3 statements contains it"),
        ("changed == 1", True, "changed 1 row"),
        ("line select == 7", True, "SELECT sent by line 7"),
        ("line update == 9", False, "UPDATE sent by lines 9, 10"),
        ("line select == 'book = session.get(Book, 1)'", True, "SELECT sent by line 7"),
        ("line delete == 7", False, "no DELETE was sent"),
        ("object again == Book#2", True, "again is Book#2"),
        ("object book == Book#2", False, "book is Book#1"),
        ("no SQL", False, "3 statements and transaction events"),
        ("prints 'Ada: 2'", True, "printed 'Ada: 2\\nAda: 20'"),
        ("prints 'Ada'", False, "printed 'Ada: 2\\nAda: 20'"),  # a whole line, not a substring
    ],
)
def test_clauses_about_meaning(check: str, passed: bool, measured: str) -> None:
    [result] = evaluate(parse_clauses(check), MEANING, SOURCE)
    assert (result.passed, result.measured) == (passed, measured)


def test_a_result_names_the_lines_that_sent_what_it_measured() -> None:
    [result] = evaluate(parse_clauses("update == 0"), MEANING)
    assert result.lines == (9, 10)
    assert str(result) == "update == 0: 2 UPDATEs (lines 9, 10)"
    [result] = evaluate(parse_clauses("state Book#1 persistent"), MEANING)
    assert result.lines == (11,)


@pytest.mark.parametrize(
    "check",
    [
        "prints 'Ada: 2'",
        "select <= 2; prints 'Ada: 2'",
        "sql == 0; prints 'x'; raises nothing",
        "lazy_load < 1",
    ],
)
def test_a_check_of_only_prints_and_upper_bounds_is_malformed(check: str) -> None:
    with pytest.raises(CheckSyntaxError, match="only prints, raises nothing and upper bounds"):
        parse_check(check)
    assert parse_clauses(check)  # as clauses (a prediction) they are fine


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        ("value Book#1 == 5", "value needs LABEL.ATTRIBUTE == VALUE"),
        ("value Book#1.copies == five", "is not a value"),
        ("expired Book#1", "expired needs a label and attribute names"),
        ("row book copies == 5", "row needs TABLE KEY=VALUE COLUMN == VALUE"),
        ("rows book = 3", "rows needs TABLE OP N"),
        ("sql contains FOR UPDATE", "sql contains needs quoted text"),
        ("line join == 3", "line needs a statement kind"),
        ("line select == here", "line needs a line number or the line's code in quotes"),
        ("object again Book#1", "object needs a variable and a label"),
    ],
)
def test_malformed_meaning_clauses(check: str, reason: str) -> None:
    with pytest.raises(CheckSyntaxError, match=reason):
        parse_clauses(check)
