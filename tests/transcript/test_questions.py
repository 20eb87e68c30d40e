"""Predict mode's questions: typed, answered from the step, never naming the cause or the outcome."""

from __future__ import annotations

from typing import Any

from sqlecho._transcript.checks import STATES
from sqlecho._transcript.questions import claims_for, is_setup


def _sql(statement: str, cause: str, line: int) -> dict[str, Any]:
    return {
        "kind": "sql",
        "statement": statement,
        "parameters": [],
        "executemany": False,
        "cause": cause,
        "line": line,
    }


SOURCE = (
    "a = 1\nbooks = session.exec(select(Book)).all()\n\nfor book in books:\n    print(book.author.name)\n"
)
STEP: dict[str, Any] = {
    "index": 0,
    "title": "t",
    "lines": [2, 5],
    "narrative": (
        "Predict.\n\nExpect: 1 SELECT (query), 2 SELECT (lazy load), 1 INSERT (autoflush), 1 COMMIT\n"
        "Expect: state Book#1 detached\nExpect: value Book#2.copies == 4\nExpect: prints 'Ada: 2'\n"
        "Expect: line select == 'books = session.exec(select(Book)).all()'\nExpect: expired Book#1 title\n"
        "Expect: object book == Book#2\nExpect: sql contains 'FOR UPDATE'\nExpect: rows book == 2"
    ),
    "events": [
        _sql("INSERT INTO book (title) VALUES (?)", "autoflush", 2),
        _sql("SELECT book.id FROM book", "query", 2),
        _sql("SELECT author.name FROM author WHERE author.id = ?", "lazy load Book.author", 5),
        _sql("SELECT author.name FROM author WHERE author.id = ?", "lazy load Book.author", 5),
        {"kind": "commit", "line": 5},
        {"kind": "transition", "object": "Book#1", "from": "persistent", "to": "detached", "line": 5},
        {"kind": "output", "text": "Ada: 2\nBen: 1\n", "line": 5},
    ],
    "objects": [
        {
            "label": "Book#1",
            "state": "detached",
            "names": ["first"],
            "values": {"id": 1},
            "expired": ["title"],
        },
        {
            "label": "Book#2",
            "state": "persistent",
            "names": ["book"],
            "values": {"id": 2, "copies": 4},
            "expired": [],
        },
    ],
    "tables": {"book": {"columns": ["id", "copies"], "rows": [[1, 3], [2, 4]]}},
    "error": None,
}
BEFORE: dict[str, Any] = {"objects": [{"label": "Book#2", "values": {"copies": 5}, "expired": []}]}


def test_each_claim_is_a_typed_question_with_its_answer() -> None:
    questions = claims_for(STEP, source=SOURCE, before=BEFORE)
    assert [(q.kind, q.control) for q in questions] == [
        ("count", "number"),
        ("count", "number"),
        ("count", "number"),
        ("state", "state"),
        ("value", "choice"),
        ("prints", "choice"),
        ("line", "choice"),
        ("expired", "choice"),
        ("object", "choice"),
        ("sql", "choice"),
        ("rows", "number"),
    ]
    select, insert, commit, state, value, prints, line, expired, obj, sql, rows = questions
    # Causes of one kind make one question, which names neither the cause nor the answer.
    assert (select.prompt, select.answer) == ("How many SELECT statements?", 3)
    assert select.claim == "1 SELECT (query), 2 SELECT (lazy load)"
    assert "lazy load" not in select.prompt and "lazy load Book.author" in select.explain
    assert (insert.prompt, insert.answer) == ("How many INSERT statements?", 1)
    assert "autoflush" not in insert.prompt and "autoflush" in insert.explain
    assert (commit.prompt, commit.answer) == ("How many COMMITs?", 1)
    assert state.choices == STATES and state.answer == "detached" and "`first`" in state.prompt
    assert "persistent → detached at line 5" in state.explain
    assert value.answer == "4" and "5" in value.choices and value.answer in value.choices  # the value before
    assert prints.answer == "Ada: 2" and "Ada: 3" in prints.choices and "Ben: 1" not in prints.choices
    assert line.answer == "2: books = session.exec(select(Book)).all()"
    assert "5: print(book.author.name)" in line.choices and all(not c.startswith("3:") for c in line.choices)
    assert expired.answer == "title" and "none" in expired.choices
    assert obj.answer == "Book#2" and obj.choices[:2] == ("Book#1", "Book#2") and "none" in obj.choices
    assert (sql.answer, sql.choices) == ("no", ("no", "yes"))
    assert rows.answer == 2
    for question in questions:
        assert question.is_right(question.answer)
        assert question.claim not in question.prompt
        assert question.control == "number" or question.answer in question.choices


def test_answers_are_compared_by_type() -> None:
    select = claims_for(STEP, source=SOURCE)[0]
    assert (
        select.is_right(3) and select.is_right(" 3 ") and not select.is_right("") and not select.is_right(0)
    )
    state = claims_for(STEP)[3]
    assert state.is_right("detached") and not state.is_right("persistent")


def test_no_sql_has_one_number_and_no_default() -> None:
    [question] = claims_for({**STEP, "narrative": "Expect: no SQL"})
    assert (question.kind, question.answer) == ("no_sql", 5)
    assert not question.is_right(None) and not question.is_right("")


def test_choices_are_the_same_on_every_run() -> None:
    assert claims_for(STEP, source=SOURCE, before=BEFORE) == claims_for(STEP, source=SOURCE, before=BEFORE)


def test_a_setup_step_is_shown_not_asked() -> None:
    setup = {**STEP, "narrative": "Create the tables.\n\nShows: 2 CREATE"}
    assert is_setup(setup) and claims_for(setup) == []
    assert not is_setup(STEP)
    assert claims_for({**STEP, "narrative": "Expect: 1 FROB"}) == []  # malformed: asks nothing


def test_a_printed_line_without_numbers_still_has_wrong_choices() -> None:
    step = {
        **STEP,
        "narrative": "Expect: prints 'found: Deadpond'",
        "events": [{"kind": "output", "text": "found: Deadpond\n", "line": 3}],
        "objects": [
            {
                "label": "Hero#1",
                "class": "Hero",
                "names": ["a"],
                "state": "persistent",
                "identity": [1],
                "values": {"name": "Deadpond"},
                "expired": [],
            },
            {
                "label": "Hero#2",
                "class": "Hero",
                "names": ["b"],
                "state": "persistent",
                "identity": [2],
                "values": {"name": "Spider-Boy"},
                "expired": [],
            },
        ],
    }
    (question,) = claims_for(step)
    assert question.answer == "found: Deadpond"
    assert "found: Spider-Boy" in question.choices  # another value the program holds
    assert "(nothing: this step prints no line)" in question.choices
    assert len(question.choices) >= 3


def test_every_lesson_question_is_answerable_and_gives_nothing_away() -> None:
    import json

    from tests.helpers import LESSONS, ROOT

    asked = 0
    for golden in sorted((ROOT / "tests" / "golden").glob("*.json")):
        transcript = json.loads(golden.read_text(encoding="utf-8"))
        source = (LESSONS / f"{golden.stem}.py").read_text(encoding="utf-8")
        before = None
        for step in transcript["steps"]:
            for question in claims_for(step, source=source, before=before):
                asked += 1
                assert question.is_right(question.answer), (golden.stem, question)
                assert question.control == "number" or question.answer in question.choices
                # A choice with nothing to choose from gives the answer away.
                assert question.control == "number" or len(question.choices) >= 2, (golden.stem, question)
                if question.kind == "prints":
                    assert len(question.choices) >= 3, (golden.stem, question)
                assert "caused by" not in question.prompt
                for cause in ("autoflush", "lazy load", "flush", "refresh", "load expired"):
                    assert cause not in question.prompt, (golden.stem, question.prompt)
            before = step
    assert asked >= 258
