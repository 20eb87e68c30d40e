"""Comparing two runs of a program (the teacher's switches), and explaining errors in plain words."""

from __future__ import annotations

from typing import Any

import pytest

from sqlecho import TraceOptions, trace
from sqlecho._render.diff import StepDiff, diff_transcripts, variant_label
from sqlecho._render.explain import clean_message, docs_link, explain
from tests import helpers

FIXTURES = helpers.FIXTURES / "lessons"


def _sql(statement: str, line: int = 1, cause: str = "query", parameters: Any = ()) -> dict[str, Any]:
    return {
        "kind": "sql",
        "line": line,
        "statement": statement,
        "parameters": list(parameters),
        "cause": cause,
    }


def _step(
    events: list[dict[str, Any]], title: str = "s", lines: tuple[int, int] = (1, 1), **extra: Any
) -> dict[str, Any]:
    step = {"title": title, "lines": list(lines), "events": events, "objects": [], "error": None}
    step.update(extra)
    return step


def _transcript(*steps: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"options": options, "steps": list(steps)}


# -- diff -------------------------------------------------------------------------------------


def test_statements_only_in_one_run_are_found_and_told() -> None:
    a = _transcript(
        _step([{"kind": "begin", "line": 3}, _sql("SELECT a", 3, "load expired Hero#1"), _sql("SELECT b", 4)])
    )
    b = _transcript(_step([_sql("SELECT b", 4), _sql("INSERT c", 4, "flush")]), expire_on_commit=False)
    diff = diff_transcripts(a, b)
    assert diff.label == "expire_on_commit=False"
    assert diff.for_a(0) == StepDiff(
        0,
        0,
        only_a=(0, 1),
        only_b=(1,),
        notes=(
            "With expire_on_commit=False this BEGIN (line 3) is gone.",
            "With expire_on_commit=False this SELECT (load expired Hero#1, line 3) is gone.",
            "With expire_on_commit=False there is an extra INSERT (flush, line 4).",
        ),
    )


def test_same_statements_with_other_parameters_differ() -> None:
    a = _transcript(_step([_sql("UPDATE hero SET age=?", parameters=[48])]))
    b = _transcript(_step([_sql("UPDATE hero SET age=?", parameters=[49])]), autoflush=False)
    assert diff_transcripts(a, b).for_a(0).only_a == (0,)
    assert diff_transcripts(a, a).for_a(0).same


def test_an_edit_that_changes_why_a_statement_runs_or_what_is_printed_says_so() -> None:
    printed = {"kind": "output", "line": 5, "text": "title: Tides\n"}
    a = _transcript(
        _step([{"kind": "begin", "line": 4}, _sql("SELECT a", 4, "load expired Book#1"), printed])
    )
    b = _transcript(
        _step(
            [
                {"kind": "begin", "line": 4},
                _sql("SELECT a", 4, "refresh Book#1"),
                {**printed, "text": "Tides\n"},
            ]
        )
    )
    assert diff_transcripts(a, b, label="your edits", edited=True).for_a(0).notes == (
        "With your edits this SELECT (line 4) is sent by refresh Book#1, not by load expired Book#1.",
        'With your edits this step prints "Tides", instead of "title: Tides".',
    )
    assert diff_transcripts(a, _transcript(_step(a["steps"][0]["events"][:2])), edited=True).for_a(
        0
    ).notes == ('With default options this step prints nothing (as written: "title: Tides").',)
    assert diff_transcripts(a, b).for_a(0).same  # a switch's comparison: the same SQL, nothing to say


def test_many_statements_are_counted_not_listed() -> None:
    a = _transcript(
        _step([_sql(f"SELECT {n}", cause="lazy load Hero.team") for n in range(5)] + [_sql("INSERT x")])
    )
    b = _transcript(_step([]), expire_on_commit=False)
    assert diff_transcripts(a, b).for_a(0).notes == (
        "With expire_on_commit=False, 6 statements are gone: 5 SELECT, 1 INSERT.",
    )


def test_steps_are_paired_by_title_and_lines_when_one_run_stops_early() -> None:
    a = _transcript(_step([], "one", (1, 1)), _step([], "two", (2, 2)), _step([], "three", (3, 3)))
    b = _transcript(
        _step([], "one", (1, 1)), _step([], "two", (2, 2), error={"type": "IntegrityError"}), autoflush=False
    )
    diff = diff_transcripts(a, b)
    assert diff.for_a(1).notes == ("With autoflush=False this step raises IntegrityError.",)
    assert diff.for_a(2) == StepDiff(
        2, None, notes=("With autoflush=False the program never gets to this step.",)
    )


def test_object_differences_are_told_once_where_they_appear() -> None:
    kept = {"label": "Hero#1", "state": "persistent", "expired": []}
    gone = {"label": "Hero#1", "state": "persistent", "expired": ["name"]}
    a = _transcript(_step([], "commit", (1, 1), objects=[gone]), _step([], "later", (2, 2), objects=[gone]))
    b = _transcript(
        _step([], "commit", (1, 1), objects=[kept]),
        _step([], "later", (2, 2), objects=[kept]),
        expire_on_commit=False,
    )
    diff = diff_transcripts(a, b)
    assert diff.for_a(0).notes == (
        "With expire_on_commit=False, Hero#1 keeps its loaded values: nothing is expired.",
    )
    assert diff.for_a(1).same


def test_variant_label_names_the_switches_that_are_set() -> None:
    assert (
        variant_label({"expire_on_commit": False, "autoflush": False})
        == "expire_on_commit=False, autoflush=False"
    )
    assert variant_label({"expire_on_commit": None, "autoflush": None}) == "default options"


def test_real_runs_of_a_lesson_differ_where_the_switch_matters() -> None:
    lesson = FIXTURES / "01_first_steps.py"
    written = trace(lesson)
    no_expire = diff_transcripts(written, trace(lesson, TraceOptions(expire_on_commit=False)))
    read = no_expire.for_a(3)  # "Read a name": the SELECT that reloads the expired hero is gone
    assert "With expire_on_commit=False this SELECT (load expired Hero#1, line 38) is gone." in read.notes
    no_autoflush = diff_transcripts(written, trace(lesson, TraceOptions(autoflush=False)))
    assert "With autoflush=False this INSERT (autoflush, line 43) is gone." in no_autoflush.for_a(4).notes


# -- explanations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("DetachedInstanceError", "detached"),
        ("NoResultFound", ".one() requires exactly one row"),
        ("MultipleResultsFound", "returned several"),
        ("IntegrityError", "constraint failed"),
        ("MissingGreenlet", "async Session"),
        ("InvalidRequestError", "refused the call"),
        ("PendingRollbackError", "rolled back"),
        ("SyntaxError", "could not read the program"),
    ],
)
def test_common_orm_errors_are_explained(kind: str, words: str) -> None:
    explanation = explain({"type": kind, "message": "m"})
    assert explanation is not None and words in explanation.what and explanation.fix


def test_links_use_the_error_code_and_the_sqlalchemy_series_of_the_run() -> None:
    assert docs_link("bhk3", {"sqlalchemy": "2.1.9"}) == "https://sqlalche.me/e/21/bhk3"
    assert docs_link("gkpj") == "https://sqlalche.me/e/20/gkpj"
    explanation = explain(
        {"type": "IntegrityError", "message": "m", "code": "gkpj"}, {"sqlalchemy": "2.0.36"}
    )
    assert explanation is not None and explanation.link == "https://sqlalche.me/e/20/gkpj"
    assert explain({"type": "IntegrityError", "message": "m", "code": "<a>"}).link is None  # type: ignore[union-attr]
    one = explain({"type": "NoResultFound", "message": "m"}, {"sqlalchemy": "2.1.0"})
    assert one is not None and one.link == (
        "https://docs.sqlalchemy.org/en/21/core/connections.html#sqlalchemy.engine.Result.one"
    )


def test_limits_are_explained_by_name_and_unknown_errors_are_not_guessed() -> None:
    for name, words in [
        ("wall_time", "time limit"),
        ("memory", "more memory"),
        ("output", "more than the viewer"),
    ]:
        explanation = explain({"type": "X", "message": "m", "limit": name})
        assert explanation is not None and words in explanation.what and "limits" in explanation.fix
    assert explain({"type": "ZeroDivisionError", "message": "division by zero"}) is None
    generic = explain({"type": "ArgumentError", "message": "m", "code": "xyz1"})
    assert generic is not None and generic.link == "https://sqlalche.me/e/20/xyz1"


def test_clean_message_drops_the_background_link() -> None:
    message = "Instance is not bound (Background on this error at: https://sqlalche.me/e/21/bhk3)"
    assert clean_message(message) == "Instance is not bound"
