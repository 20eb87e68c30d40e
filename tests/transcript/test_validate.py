"""The parent's checks of worker messages: everything the tracer really sends passes, and forged
messages (wrong types, impossible lines, oversized or deeply nested data) are refused with one
plain sentence that names the field."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqlecho import TRANSCRIPT_VERSION, TraceOptions, trace
from sqlecho._sandbox.limits import Limits
from sqlecho._transcript.validate import (
    TRACER_MAX_EVENTS,
    TRACER_MAX_ROWS,
    TRACER_MAX_STEPS,
    Budget,
    InvalidMessage,
    OverBudget,
    check_done,
    check_failed,
    check_limit,
    check_step,
    source_line_count,
)
from sqlecho._transcript.validate import TRANSCRIPT_VERSION as VALIDATED_VERSION
from tests.helpers import LESSONS, ROOT

GOLDEN = sorted((ROOT / "tests" / "golden").glob("*.json"))
PROGRAMS = ROOT / "tests" / "programs"
MASK = "<masked>"


def _unmasked(value: Any) -> Any:
    """A golden transcript with its masked timings back to numbers."""
    if isinstance(value, dict):
        return {key: 0.0 if item == MASK else _unmasked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unmasked(item) for item in value]
    return value


def _through_pipe(message: dict[str, Any]) -> Any:
    """What the parent decodes from a worker's line (the worker's own encoding)."""
    return json.loads(json.dumps(message, ensure_ascii=True, separators=(",", ":")))


def _accept_all(transcript: dict[str, Any], source: str, budget: Budget | None = None) -> None:
    """Check ``transcript`` message by message, as the parent receives it from a worker."""
    budget = budget or Budget()
    lines = source_line_count(source)
    for index, step in enumerate(transcript["steps"]):
        received = _through_pipe({"step": step})["step"]
        assert check_step(received, index=index, source_lines=lines, budget=budget) is received
    done = _through_pipe({"done": {**transcript, "steps": len(transcript["steps"])}})["done"]
    assert check_done(done, steps_received=len(transcript["steps"])) is done
    assert budget.steps == len(transcript["steps"])


def _reject(check: Callable[[], object], *words: str, kind: type[InvalidMessage] = InvalidMessage) -> str:
    with pytest.raises(kind) as caught:
        check()
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert "\n" not in message and len(message) < 400, message
    return message


# -- the validator accepts everything real ------------------------------------------------------


def test_the_validator_restates_the_tracers_caps_and_version() -> None:
    """The module does not import the tracer (SQLAlchemy); its copies must not drift."""
    options = TraceOptions()
    assert (TRACER_MAX_STEPS, TRACER_MAX_EVENTS, TRACER_MAX_ROWS) == (
        options.max_steps,
        options.max_events,
        options.max_rows,
    )
    assert VALIDATED_VERSION == TRANSCRIPT_VERSION
    budget = Budget.for_options(options)
    assert dataclasses.replace(budget) == Budget()
    assert budget.max_steps > options.max_steps and budget.max_events > options.max_events


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_every_golden_transcript_validates_step_by_step(path: Path) -> None:
    transcript = _unmasked(json.loads(path.read_text(encoding="utf-8")))
    source = (ROOT / transcript["source"]).read_text(encoding="utf-8-sig")
    _accept_all(transcript, source)


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("fails_midway.py", "lines"),
        ("relationships.py", "lines"),
        ("bulk_update_delete.py", "lines"),
        ("many_to_many.py", "lines"),
        ("savepoints.py", "cells"),
    ],
)
def test_traced_programs_validate(name: str, mode: str) -> None:
    path = PROGRAMS / name
    transcript = trace(path)
    assert transcript["mode"] == mode
    _accept_all(transcript, path.read_text(encoding="utf-8-sig"))


@pytest.mark.parametrize("name", ["02_creating_rows.py", "17_relationships.py"])
def test_traced_lessons_validate_in_cells_mode(name: str) -> None:
    path = LESSONS / name
    transcript = trace(path)
    assert transcript["mode"] == "cells"
    _accept_all(transcript, path.read_text(encoding="utf-8-sig"))


def test_a_run_cut_by_the_tracers_caps_validates_with_the_budget_of_its_options(tmp_path: Path) -> None:
    source = "\n".join(
        [
            "from sqlalchemy import create_engine, text",
            "engine = create_engine('sqlite://')",
            "with engine.connect() as connection:",
            "    for number in range(40):",
            "        connection.execute(text('SELECT 1'))",
            "        print(number)",
        ]
    )
    path = tmp_path / "loop.py"
    path.write_text(source, encoding="utf-8")
    options = TraceOptions(max_steps=30, max_events=50)
    transcript = trace(path, options)
    assert transcript["truncated"]["steps"] == 30
    assert transcript["truncated"]["events_dropped"] > 0
    _accept_all(transcript, source, Budget.for_options(options))


def test_a_syntax_error_at_the_end_of_the_file_is_within_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    source = "x = 1\nif x:\n"
    path.write_text(source, encoding="utf-8")
    transcript = trace(path)
    assert transcript["steps"][0]["error"]["type"] == "IndentationError"
    _accept_all(transcript, source)


def test_source_line_count_counts_lines_as_python_and_the_cell_parser_do() -> None:
    assert source_line_count("") == 1
    assert source_line_count("a\nb") == 2
    assert source_line_count("a\nb\n") == 2
    assert source_line_count("a\rb\r\nc") == 3
    assert source_line_count("a\x0cb\n") == 2  # splitlines() cuts at a form feed, Python does not


def test_the_other_messages_as_the_worker_sends_them() -> None:
    assert check_limit("wall_time") == "wall_time"
    for field in dataclasses.fields(Limits):
        check_limit(field.name)
    report = {"type": "MemoryError", "message": "", "limit": "memory"}
    assert check_failed(report) is report
    check_failed({"type": "ValueError", "message": "bad job", "limit": None})
    check_failed({"type": "JSONDecodeError", "message": "Expecting value"})


# -- hostile steps ------------------------------------------------------------------------------

SOURCE_LINES = 40


def _step(**changes: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "index": 0,
        "title": None,
        "narrative": "",
        "lines": [3, 3],
        "events": [
            {"kind": "begin", "line": 3},
            {
                "kind": "sql",
                "line": 3,
                "statement": "INSERT INTO hero (name) VALUES (?)",
                "parameters": ["Ada"],
                "executemany": False,
                "cause": "flush",
                "rowcount": 1,
                "duration_ms": 0.05,
            },
            {"kind": "transition", "line": 3, "object": "Hero#1", "from": "pending", "to": "persistent"},
            {"kind": "output", "line": None, "text": "hi\n", "stream": "stderr"},
        ],
        "objects": [
            {
                "label": "Hero#1",
                "class": "Hero",
                "names": ["hero"],
                "state": "persistent",
                "identity": [1],
                "values": {"id": 1, "name": "Ada", "team": "Team#1"},
                "expired": [],
                "unloaded": ["powers"],
                "session": "session",
            }
        ],
        "session": {"new": [], "dirty": [], "deleted": [], "identity_map": ["Hero#1"]},
        "sessions": [
            {
                "name": "session",
                "label": "Session#1",
                "new": [],
                "dirty": [],
                "deleted": [],
                "identity_map": ["Hero#1"],
            }
        ],
        "variables": {"count": "3"},
        "tables": {"hero": {"columns": ["id", "name"], "rows": [[1, "Ada"]]}},
        "error": None,
    }
    step.update(changes)
    return step


def _check(step: object, index: int = 0, budget: Budget | None = None) -> dict[str, Any]:
    return check_step(step, index=index, source_lines=SOURCE_LINES, budget=budget or Budget())


def _with(path: str, value: Any) -> dict[str, Any]:
    """The sample step with the field at ``path`` ("events.1.line") set to ``value``."""
    step = copy.deepcopy(_step())
    *parents, last = path.split(".")
    target: Any = step
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return step


def test_the_sample_step_is_valid() -> None:
    step = _step()
    assert _check(step) is step


def test_lines_far_past_the_end_of_the_source_are_refused() -> None:
    message = _reject(lambda: _check(_step(lines=[1, 10**15])), "Step 0", "lines", "1000000000000000", "40")
    assert message.startswith("Step 0: lines are")


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ([9, 3], ("first <= last",)),
        ([0, 3], ("1 <= first",)),
        (["1", "3"], ("two line numbers",)),
        ([1, True], ("two line numbers",)),
        ([1.0, 3.0], ("two line numbers",)),
        ([1, 2, 3], ("[first, last]",)),
        ("1-3", ("[first, last]",)),
    ],
)
def test_impossible_lines_are_refused(lines: object, words: tuple[str, ...]) -> None:
    _reject(lambda: _check(_step(lines=lines)), "lines", *words)


def test_steps_out_of_order_are_refused() -> None:
    _reject(lambda: _check(_step(index=5), index=1), "index", "expected 1")
    _reject(lambda: _check(_step(index=True), index=1), "index")
    budget = Budget()
    _check(_step(), 0, budget)
    _reject(lambda: _check(_step(index=0), 1, budget), "index is 0, expected 1")


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("events.0.kind", "pwned", ("events[0].kind", "'pwned'", "a known event kind")),
        ("events.0.kind", ["begin"], ("events[0].kind", "a list of 1 items")),
        ("events.0.line", 41, ("events[0].line", "outside the source's lines 1..40")),
        ("events.0.line", 0, ("events[0].line", "outside")),
        ("events.0.line", "3", ("events[0].line", "a line number")),
        ("events.1.statement", 7, ("events[1].statement", "a string")),
        ("events.1.executemany", "no", ("events[1].executemany", "true or false")),
        ("events.1.rowcount", "1", ("events[1].rowcount", "an integer")),
        ("events.1.duration_ms", float("nan"), ("events[1].duration_ms", "a number")),
        ("events.1.parameters", [float("inf")], ("events[1].parameters", "not a JSON number")),
        ("events.2.to", "owned", ("events[2].to", "an object state")),
        ("events.2.object", None, ("events[2].object", "a string")),
        ("events.3.stream", "stdout", ("events[3].stream", '"stderr"')),
        ("events.3.text", ["hi"], ("events[3].text", "a string")),
        ("events.1", 5, ("events[1]", "an event object")),
    ],
)
def test_events_of_the_wrong_shape_are_refused(path: str, value: object, words: tuple[str, ...]) -> None:
    _reject(lambda: _check(_with(path, value)), "Step 0:", *words)


def test_events_with_missing_or_unknown_fields_are_refused() -> None:
    step = _step()
    del step["events"][1]["cause"]
    _reject(lambda: _check(step), "events[1].cause is missing")
    step = _step()
    del step["events"][0]["line"]
    _reject(lambda: _check(step), "events[0].line is missing")
    step = _step()
    step["events"][0]["payload"] = "x" * 10_000
    message = _reject(lambda: _check(step), "events[0]", "unknown field 'payload'")
    assert "xxxx" not in message


def test_events_that_are_not_a_list_are_refused() -> None:
    _reject(
        lambda: _check(_step(events={"kind": "begin"})), "events is an object with 1 fields, expected a list"
    )
    _reject(lambda: _check(_step(events=None)), "events is null")


def test_thirty_thousand_tiny_events_in_one_step_are_over_budget() -> None:
    events = [{"kind": "begin", "line": None}] * 30_000
    message = _reject(lambda: _check(_step(events=events)), "30000 events", "20064", kind=OverBudget)
    assert message.startswith("Step 0:")


def test_events_are_counted_over_the_whole_run() -> None:
    budget = Budget(max_events=10, max_events_per_step=10)
    events = [{"kind": "commit", "line": 1}] * 6
    _check(_step(events=events), 0, budget)
    _reject(lambda: _check(_step(index=1, events=events), 1, budget), "6 events after 6", kind=OverBudget)
    assert budget.events == 6 and budget.steps == 1  # the refused step is not counted


def test_more_steps_than_the_cap_are_over_budget() -> None:
    budget = Budget()
    step = _step(events=[], objects=[], tables={})
    for index in range(budget.max_steps):
        step["index"] = index
        _check(step, index, budget)
    step["index"] = budget.max_steps
    _reject(
        lambda: _check(step, budget.max_steps, budget), "more steps", str(budget.max_steps), kind=OverBudget
    )


def test_a_value_nested_ten_thousand_deep_is_refused_without_recursion() -> None:
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    _reject(lambda: _check(_with("objects.0.values.name", deep)), "objects[0].values", "nested more than 20")
    _reject(lambda: _check(_with("events.1.parameters", deep)), "events[1].parameters", "nested")
    _reject(lambda: _check(_with("tables.hero.rows.0.1", deep)), "tables['hero'].rows", "nested")
    nested: dict[str, Any] = {}
    for _ in range(10_000):
        nested = {"a": nested}
    _reject(lambda: _check(_with("objects.0.identity", [nested])), "objects[0].identity", "nested")


def test_nesting_up_to_the_limit_is_accepted() -> None:
    value: Any = 1
    for _ in range(Budget().max_depth):
        value = [value]
    _check(_with("objects.0.values.name", value))
    _check(_with("tables.hero.rows.0.1", value))
    _reject(lambda: _check(_with("objects.0.values.name", [value])), "nested")


def test_a_two_mebibyte_string_is_refused_and_not_echoed() -> None:
    huge = "A" * (2 * 1024 * 1024)
    for path in (
        "narrative",
        "events.3.text",
        "objects.0.values.name",
        "tables.hero.rows.0.1",
        "objects.0.names.0",
    ):
        message = _reject(lambda path=path: _check(_with(path, huge)), "2097152 characters")
        assert message.count("A") < 80


def test_objects_of_the_wrong_shape_are_refused() -> None:
    step = _step()
    del step["objects"][0]["label"]
    _reject(lambda: _check(step), "objects[0].label is missing")
    _reject(lambda: _check(_with("objects.0.label", 1)), "objects[0].label", "a string")
    _reject(lambda: _check(_with("objects.0.state", "root")), "objects[0].state", "an object state")
    _reject(lambda: _check(_with("objects.0.names", "hero")), "objects[0].names", "a list of strings")
    _reject(lambda: _check(_with("objects.0.names", [1])), "objects[0].names[0]", "a string")
    _reject(lambda: _check(_with("objects.0.values", [1])), "objects[0].values", "an object")
    _reject(lambda: _check(_with("objects.0.identity", 1)), "objects[0].identity", "a list or null")
    _reject(lambda: _check(_with("objects.0", "Hero#1")), "objects[0]", "an object record")
    _reject(lambda: _check(_step(objects={})), "objects", "a list")
    _reject(lambda: _check(_with("objects.0.session", 1)), "objects[0].session", "a session name or null")
    assert _check(_with("objects.0.session", None))["objects"][0]["session"] is None


def test_too_many_objects_in_a_step_are_over_budget() -> None:
    record = _step()["objects"][0]
    most = Budget().max_objects_per_step
    _reject(lambda: _check(_step(objects=[record] * (most + 1))), f"{most + 1} objects", kind=OverBudget)


@pytest.mark.parametrize(
    ("session", "words"),
    [
        ([], ("session", "a list of 0 items", "an object or null")),
        ("Session#1", ("session", "an object or null")),
        ({"new": [], "dirty": [], "deleted": []}, ("identity_map is missing",)),
        ({"new": [1], "dirty": [], "deleted": [], "identity_map": []}, ("session.new[0]",)),
        ({"new": {}, "dirty": [], "deleted": [], "identity_map": []}, ("session.new", "a list")),
    ],
)
def test_a_session_of_the_wrong_type_is_refused(session: object, words: tuple[str, ...]) -> None:
    _reject(lambda: _check(_step(session=session)), *words)


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("sessions", {}, ("sessions", "a list")),
        ("sessions.0", "session", ("sessions[0]", "an object")),
        ("sessions.0.name", 1, ("sessions[0].name", "a string")),
        ("sessions.0.identity_map", [1], ("sessions[0].identity_map[0]", "a string")),
        ("sessions.0.extra", [], ("sessions[0]", "extra")),
        ("variables", [], ("variables", "an object")),
        ("variables.count", 3, ("variables.count", "a short text")),
        ("variables.count", "9" * 65, ("variables.count", "at most 64 characters")),
    ],
)
def test_sessions_and_variables_of_the_wrong_shape_are_refused(
    path: str, value: object, words: tuple[str, ...]
) -> None:
    _reject(lambda: _check(_with(path, value)), *words)


def test_a_step_without_sessions_is_read_but_too_many_variables_are_refused() -> None:
    step = _step()
    del step["sessions"], step["variables"]  # a transcript of an older version
    assert _check(step) is step
    many = {f"v{number}": "1" for number in range(21)}
    _reject(lambda: _check(_step(variables=many)), "variables", "at most 20 values")


def test_tables_of_the_wrong_shape_are_refused() -> None:
    _reject(lambda: _check(_with("tables.hero.rows", "1,Ada")), "tables['hero'].rows", "a list of rows")
    _reject(lambda: _check(_with("tables.hero.rows", {"0": [1, "Ada"]})), "tables['hero'].rows")
    _reject(lambda: _check(_with("tables.hero.rows.0", 1)), "tables['hero'].rows[0]", "a list of 2 cells")
    _reject(lambda: _check(_with("tables.hero.rows.0", [1])), "tables['hero'].rows[0]", "a list of 2 cells")
    _reject(lambda: _check(_with("tables.hero.columns", [1, 2])), "tables['hero'].columns[0]")
    _reject(lambda: _check(_with("tables.hero", [])), "tables['hero']", "an object")
    _reject(lambda: _check(_with("tables.hero.total_rows", 0)), "total_rows", "fewer than the 1 rows")
    _reject(lambda: _check(_step(tables=[])), "tables", "an object")
    _reject(
        lambda: _check(_with("tables.hero.primary_key", ["age"])),
        "primary_key",
        "some of the table's columns",
    )
    _reject(
        lambda: _check(_with("tables.hero.primary_key", [])), "primary_key", "some of the table's columns"
    )
    _reject(lambda: _check(_with("tables.hero.primary_key", "id")), "primary_key", "a list of strings")
    _check(_with("tables.hero.primary_key", ["id"]))  # a key among the columns is fine


def test_too_many_rows_or_tables_are_over_budget() -> None:
    rows = [[n, "x"] for n in range(201)]
    _reject(lambda: _check(_with("tables.hero.rows", rows)), "'hero'", "201 rows", kind=OverBudget)
    table = {"columns": [], "rows": []}
    tables = {f"t{n}": table for n in range(1001)}
    _reject(lambda: _check(_step(tables=tables)), "1001 tables", kind=OverBudget)


def test_an_unchanged_table_or_object_is_accepted_again_and_still_checked_when_changed() -> None:
    budget = Budget()
    _check(_step(), 0, budget)
    _check(_step(index=1), 1, budget)
    _reject(lambda: _check(_with("tables.hero.rows.0", [1]) | {"index": 2}, 2, budget), "rows[0]")
    _reject(lambda: _check(_with("objects.0.state", "x") | {"index": 2}, 2, budget), "objects[0].state")
    _reject(lambda: _check(_with("tables.hero.total_rows", True) | {"index": 2}, 2, budget), "total_rows")
    _reject(lambda: _check(_with("session.new", [1]) | {"index": 2}, 2, budget), "session.new[0]")
    _reject(lambda: _check(_with("objects.0.values.name", [1e400]) | {"index": 2}, 2, budget), "not a JSON")
    assert budget.steps == 2


def test_errors_and_notes_of_the_wrong_shape_are_refused() -> None:
    error = {"type": "ValueError", "message": "boom", "line": 3, "expected": False}
    _check(_step(error=error, notes=["a remark"]))
    _check(_step(error={**error, "code": "gkpj", "caught": True, "expected": True}))
    _check(_step(error={**error, "limit": "memory", "line": None}))
    _reject(lambda: _check(_step(error={**error, "line": 99})), "error.line", "outside")
    _reject(lambda: _check(_step(error={**error, "limit": "pwned"})), "error.limit", "the name of a limit")
    _reject(lambda: _check(_step(error={**error, "expected": "no"})), "error.expected")
    _reject(lambda: _check(_step(error="boom")), "error", "an error record or null")
    _reject(lambda: _check(_step(notes="remark")), "notes", "a list of strings")
    _reject(lambda: _check(_step(extra=1)), "unknown field 'extra'")


def test_after_text_and_exercises_of_the_wrong_shape_are_refused() -> None:
    _check(_step(after="Why it happened.", exercise={"check": "select == 1", "hint": "", "task": ""}))
    _reject(lambda: _check(_step(after=["why"])), "after", "a string")
    _reject(lambda: _check(_step(exercise="select == 1")), "exercise", "an exercise record")
    _reject(lambda: _check(_step(exercise={"check": "select == 1"})), "hint", "missing")
    _reject(
        lambda: _check(_step(exercise={"check": 1, "hint": "", "task": ""})), "exercise.check", "a string"
    )
    _reject(
        lambda: _check(_step(exercise={"check": "", "hint": "", "task": "", "x": 1})), "unknown field 'x'"
    )


def test_a_step_that_is_not_an_object_is_refused() -> None:
    _reject(lambda: _check([1, 2]), "Step 0: is a list of 2 items, expected an object.")
    _reject(lambda: _check(10**5000), "an integer of")


# -- hostile ends and notices ------------------------------------------------------------------


def _done(**changes: Any) -> dict[str, Any]:
    done: dict[str, Any] = {
        "version": TRANSCRIPT_VERSION,
        "source": "lesson.py",
        "mode": "cells",
        "options": {"expire_on_commit": None, "autoflush": False},
        "versions": {"sqlalchemy": "2.0.36", "sqlmodel": "0.0.22"},
        "status": "ok",
        "steps": 3,
        "truncated": {"steps": 2000, "events_dropped": 12, "output": True},
        "internal_errors": ["KeyError: 'x'"],
        "duration_ms": 12.5,
    }
    done.update(changes)
    return done


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"steps": 4}, ("steps is 4, but 3 steps were received",)),
        ({"steps": [1, 2, 3]}, ("steps", "an integer")),
        ({"status": "pwned"}, ("status", "'pwned'", '"ok", "error" or "limit"')),
        ({"version": 2}, ("version",)),
        ({"version": True}, ("version",)),
        ({"mode": "shell"}, ("mode",)),
        ({"options": {"expire_on_commit": "yes", "autoflush": None}}, ("options.expire_on_commit",)),
        ({"options": {"autoflush": None}}, ("options.expire_on_commit is missing",)),
        ({"versions": {"sqlalchemy": 2}}, ("versions['sqlalchemy']", "a string")),
        ({"versions": []}, ("versions", "an object")),
        ({"source": None}, ("source", "a string")),
        ({"duration_ms": "fast"}, ("duration_ms", "a number")),
        ({"truncated": {"steps": "all"}}, ("truncated.steps",)),
        ({"truncated": {"output": 1}}, ("truncated.output", "true")),
        ({"truncated": {"rows": 1}}, ("truncated", "unknown field 'rows'")),
        ({"truncated": [1]}, ("truncated", "an object")),
        ({"internal_errors": [1]}, ("internal_errors[0]",)),
        ({"extra": 1}, ("unknown field 'extra'",)),
    ],
)
def test_a_forged_end_of_transcript_is_refused(changes: dict[str, Any], words: tuple[str, ...]) -> None:
    message = _reject(lambda: check_done(_done(**changes), steps_received=3), *words)
    assert message.startswith("The end of the transcript:")


def test_the_end_of_a_transcript_as_sent() -> None:
    done = _done()
    assert check_done(done, steps_received=3) is done
    del done["truncated"], done["internal_errors"]
    check_done(done, steps_received=3)
    _reject(lambda: check_done("done", steps_received=0), "expected an object")
    missing = _done()
    del missing["status"]
    _reject(lambda: check_done(missing, steps_received=3), "status is missing")


@pytest.mark.parametrize(
    "value",
    [
        "pwned",
        None,
        1,
        {"type": "X"},
        {"type": "X", "message": 1},
        {"type": "X", "message": "m", "limit": "root"},
        {"type": "X", "message": "m", "extra": 1},
        ["X", "m"],
    ],
)
def test_a_forged_failure_report_is_refused(value: object) -> None:
    _reject(lambda: check_failed(value), "The failure report")


@pytest.mark.parametrize("value", ["pwned", "", None, 3, ["memory"], "Memory", "__init__"])
def test_a_forged_limit_notice_is_refused(value: object) -> None:
    _reject(lambda: check_limit(value), "The limit notice", "the name of a limit")


@pytest.mark.parametrize("duration", [float("inf"), float("-inf"), float("nan"), "1", None, True])
def test_a_statement_duration_must_be_a_finite_number(duration: object) -> None:
    _reject(lambda: _check(_with("events.1.duration_ms", duration)), "events[1].duration_ms", "a number")


@pytest.mark.parametrize("batch", [[1], [1, "2"], "1/2", [1, 2.0]])
def test_a_statement_batch_must_be_two_integers(batch: object) -> None:
    _check(_with("events.1.batch", [1, 2]))
    _reject(lambda: _check(_with("events.1.batch", batch)), "events[1].batch", "[number, total]")


# -- the validator reads the transcript's types --------------------------------------------------


def test_the_event_table_names_every_kind_and_only_fields_of_the_event_type() -> None:
    from typing import get_args

    from sqlecho._transcript.validate import EVENT_FIELDS, fields_of
    from sqlecho.transcript import Event, EventKind

    assert sorted(EVENT_FIELDS) == sorted(get_args(EventKind))
    common, every = fields_of(Event)
    assert common == ("kind", "line")
    named = set().union(*(set().union(*fields) for fields in EVENT_FIELDS.values()))
    assert named == every - set(common)


def test_the_required_fields_come_from_the_types() -> None:
    from sqlecho._transcript.validate import fields_of
    from sqlecho.transcript import ObjectRecord, Step, Transcript

    assert fields_of(Step)[0] == (
        "index", "title", "narrative", "lines", "events", "objects", "session", "tables", "error",
    )  # fmt: skip
    assert {"sessions", "variables", "notes", "after", "exercise"} <= fields_of(Step)[1]
    assert fields_of(ObjectRecord)[0][-1] == "expired" and "unloaded" in fields_of(ObjectRecord)[1]
    assert "duration_ms" not in fields_of(Transcript)[0]
    # A field the types do not name is refused, one they name but the step lacks is missing.
    program = PROGRAMS / "core_only.py"
    step: dict[str, Any] = dict(trace(program)["steps"][0])
    lines = source_line_count(program.read_text(encoding="utf-8"))
    _reject(lambda: check_step({**step, "colour": 1}, index=0, source_lines=lines, budget=Budget()), "colour")
    del step["tables"]
    _reject(lambda: check_step(step, index=0, source_lines=lines, budget=Budget()), "tables", "missing")
