"""The curriculum: every lesson runs, says what really happens, and matches its golden transcript.

Each lesson in ``lessons/`` is traced in this process and held to the authoring rules of
``lessons/README.md``: a title, narrative on (nearly) every step, 5 to 12 steps, errors only on the
steps tagged ``raises-exception``, and every ``Expect:`` line in the narrative true of the step it
introduces. The whole transcript is then compared with ``tests/golden/<lesson>.json``, timings
masked. After an intended change, rewrite the goldens and review their diff like code::

    python -m pytest tests/trace/test_lessons.py --update-goldens
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sqlecho import trace
from sqlecho._grade import exercises_of, grade
from sqlecho._trace.cells import CellKind, parse_cells
from sqlecho._transcript.expect import check_expectations, parse_claims, parse_expectations
from tests.golden_helpers import check_golden, check_no_orphans
from tests.helpers import LESSONS, ROOT

GOLDEN = ROOT / "tests" / "golden"
LESSON_FILES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
MIN_STEPS, MAX_STEPS = 5, 12
# Share of steps that must have narrative; the rest may be a quick follow-up of the step before.
NARRATED_SHARE = 0.75
MASK = "<masked>"
UPDATE_COMMAND = "python -m pytest tests/trace/test_lessons.py --update-goldens"

# -- tracing ----------------------------------------------------------------------------------


def masked(value: Any) -> Any:
    """``value`` with every field whose name ends in ``_ms`` or ``_s`` (a timing) masked."""
    if isinstance(value, dict):
        return {key: MASK if key.endswith(("_ms", "_s")) else masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def golden_text(transcript: dict[str, Any]) -> str:
    return json.dumps(masked(transcript), indent=1, ensure_ascii=False) + "\n"


def trace_lesson(path: Path) -> dict[str, Any]:
    return trace(path, source_name=f"lessons/{path.name}")


@functools.cache
def traced(name: str) -> dict[str, Any]:
    """The transcript of one lesson, traced once per test session."""
    return trace_lesson(LESSONS / name)


def authoring_problems(source: str, transcript: dict[str, Any]) -> list[str]:
    """Every way in which a lesson (its source and its transcript) breaks the authoring rules."""
    steps = transcript["steps"]
    problems = []
    if transcript["status"] != "ok":
        problems.append(f"the run did not end well: {[step['error'] for step in steps if step['error']]}")
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        problems.append(f"{len(steps)} steps; a lesson has {MIN_STEPS} to {MAX_STEPS}")
    cells = parse_cells(source)
    if not (cells and cells[0].kind is CellKind.MARKDOWN and re.match(r"# \S", cells[0].text)):
        problems.append("the first cell is not a markdown cell starting with '# Title'")
    if not all(step["title"] for step in steps):
        problems.append("a code cell has no title")
    narrated = sum(1 for step in steps if step["narrative"].strip())
    if narrated < NARRATED_SHARE * len(steps):
        problems.append(f"only {narrated} of {len(steps)} steps have narrative")
    tagged = [
        cell.title
        for cell in cells
        if cell.kind is CellKind.CODE and cell.expects_error and cell.runs_on("sqlite")
    ]
    failed = [step["title"] for step in steps if step["error"]]
    if failed != tagged or not all(step["error"]["expected"] for step in steps if step["error"]):
        problems.append(f"errors on {failed}, but the cells tagged raises-exception are {tagged}")
    return problems


# -- the tests --------------------------------------------------------------------------------

lesson_params = pytest.mark.parametrize("path", LESSON_FILES, ids=[path.stem for path in LESSON_FILES])


def test_there_is_a_curriculum() -> None:
    numbers = [int(path.name[:2]) for path in LESSON_FILES]
    assert len(numbers) >= 20
    assert numbers == list(range(1, len(numbers) + 1)), "lessons are numbered 01, 02, ... without gaps"
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.py", path.name) for path in LESSON_FILES)


@lesson_params
def test_lesson_follows_the_authoring_rules(path: Path) -> None:
    transcript = traced(path.name)
    assert transcript["mode"] == "cells"
    assert authoring_problems(path.read_text(encoding="utf-8"), transcript) == []


@lesson_params
def test_lesson_expectations_hold(path: Path) -> None:
    steps = traced(path.name)["steps"]
    assert any(parse_expectations(step["narrative"]) for step in steps), (
        "each lesson states some Expect: counts"
    )
    source = path.read_text(encoding="utf-8")
    problems = [problem for step in steps for problem in check_expectations(step, source)]
    assert not problems, "\n".join(problems)


@lesson_params
def test_lesson_matches_golden(path: Path, update_goldens: bool) -> None:
    check_golden(GOLDEN / f"{path.stem}.json", golden_text(traced(path.name)), update_goldens, UPDATE_COMMAND)


def test_every_golden_has_a_lesson(update_goldens: bool) -> None:
    check_no_orphans(GOLDEN, (path.stem for path in LESSON_FILES), update_goldens)


def test_readme_lists_every_lesson() -> None:
    readme = (LESSONS / "README.md").read_text(encoding="utf-8")
    missing = [path.name for path in LESSON_FILES if path.name not in readme]
    assert not missing, f"lessons/README.md does not list {missing}"


def test_tracing_a_lesson_twice_gives_the_same_transcript() -> None:
    path = LESSONS / "18_lazy_loading_n_plus_1.py"
    assert golden_text(trace_lesson(path)) == golden_text(trace_lesson(path))


def _folder_state(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(item.relative_to(folder)), item.stat().st_mtime_ns) for item in folder.rglob("*"))


def test_lessons_run_as_plain_python(tmp_path: Path) -> None:
    """``python lessons/NN_x.py`` exits 0, warns about nothing and leaves no file behind."""
    before = _folder_state(LESSONS)

    def run(path: Path) -> tuple[str, int, str, list[str]]:
        cwd = tmp_path / path.stem
        cwd.mkdir()
        done = subprocess.run(
            [sys.executable, str(path)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
        return path.name, done.returncode, done.stderr, [item.name for item in cwd.iterdir()]

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, LESSON_FILES))
    failures = [f"{name}: exit {code}\n{stderr}" for name, code, stderr, _left in results if code or stderr]
    assert not failures, "\n".join(failures)
    assert [(name, left) for name, _code, _err, left in results if left] == []
    assert _folder_state(LESSONS) == before, "a plain run wrote into lessons/"


# -- the Expect: checker itself ---------------------------------------------------------------


def _step(narrative: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"index": 0, "title": "t", "narrative": narrative, "events": events}


def _sql(statement: str, cause: str = "query") -> dict[str, Any]:
    return {"kind": "sql", "statement": statement, "cause": cause}


def test_expect_checker_reports_wrong_counts() -> None:
    events = [
        {"kind": "begin"},
        _sql("INSERT INTO book (title) VALUES (?)", "autoflush"),
        _sql("SELECT book.id FROM book"),
    ]
    assert check_expectations(_step("Expect: 1 INSERT (autoflush), 1 SELECT, 1 BEGIN", events)) == []
    assert check_expectations(_step("Expect: 2 statements, 0 COMMIT", events)) == []
    assert check_expectations(_step("Expect: 2 SELECT", events)) == ["step 1 (t): expected 2 SELECT, got 1"]
    assert check_expectations(_step("Expect: 1 INSERT (flush)", events)) == [
        "step 1 (t): expected 1 INSERT (flush), got 0"
    ]
    assert check_expectations(_step("Expect: no SQL", [{"kind": "begin"}])) != []
    assert check_expectations(_step("Expect: no SQL", [{"kind": "output", "text": "hi"}])) == []
    rollback_to = [_sql("ROLLBACK TO SAVEPOINT sa_savepoint_1", "savepoint"), {"kind": "rollback"}]
    assert check_expectations(_step("Expect: 1 ROLLBACK TO, 1 ROLLBACK", rollback_to)) == []


def test_expect_and_shows_lines_check_clauses_of_the_check_grammar() -> None:
    step = {
        **_step("", [{"kind": "output", "text": "Ada: 2\n"}]),
        "objects": [{"label": "Book#1", "state": "detached", "values": {"copies": 5}, "expired": []}],
    }
    ok = "Expect: state Book#1 detached\nExpect: value Book#1.copies == 5\nShows: prints 'Ada: 2'"
    assert check_expectations({**step, "narrative": ok}) == []
    wrong = "Expect: state Book#1 persistent\nShows: prints 'Ada'"
    assert check_expectations({**step, "narrative": wrong}) == [
        "step 1 (t): expected state Book#1 persistent, got Book#1 is detached",
        "step 1 (t): expected prints 'Ada', got printed 'Ada: 2'",
    ]
    with pytest.raises(ValueError, match="README"):
        parse_claims("Expect: state Book#1 gone")


@pytest.mark.parametrize(
    "line", ["Expect: 1 select", "Expect: one SELECT", "Expect: 2 MERGE", "Expect: 1 COMMIT (flush)"]
)
def test_expect_checker_rejects_unknown_claims(line: str) -> None:
    with pytest.raises(ValueError, match="README"):
        parse_expectations(line)


# -- the authoring rules themselves -----------------------------------------------------------

_GOOD_CELL = "# %% [markdown]\n# Narrative.\n\n# %% Step {n}\nx = {n}\n"


def test_authoring_rules_accept_a_good_lesson(tmp_path: Path) -> None:
    source = "# %% [markdown]\n# # A title\n\n# %% Step 0\nx = 0\n" + "".join(
        _GOOD_CELL.format(n=n) for n in range(1, 5)
    )
    path = tmp_path / "good.py"
    path.write_text(source, encoding="utf-8")
    assert authoring_problems(source, trace(path)) == []


def test_authoring_rules_catch_a_bad_lesson(tmp_path: Path) -> None:
    source = (
        "x = 1\n"  # no title cell, no narrative, an untitled step
        '# %% Fine but tagged tags=["raises-exception"]\ny = 2\n'
        "# %% Broken\nz = 1 / 0\n"
    )
    path = tmp_path / "bad.py"
    path.write_text(source, encoding="utf-8")
    problems = "\n".join(authoring_problems(source, trace(path)))
    for broken in ("did not end well", "3 steps", "'# Title'", "has no title", "have narrative", "tagged"):
        assert broken in problems


# -- exercises --------------------------------------------------------------------------------

FIRST_WITH_EXERCISES = 3


@lesson_params
def test_lesson_exercises_pass_on_the_lessons_own_code(path: Path) -> None:
    """From lesson 3 on, every lesson has an exercise with a hint, and its own code passes it."""
    exercises = exercises_of(path.read_text(encoding="utf-8"), path.name)
    if int(path.name[:2]) >= FIRST_WITH_EXERCISES:
        assert exercises, "a lesson from 03 on has at least one exercise cell"
    assert all(exercise.hint for exercise in exercises), "every exercise has a hint"
    titles = [step["title"] for step in traced(path.name)["steps"]]
    assert all(titles.count(exercise.title) == 1 for exercise in exercises), "exercise titles are unique"
    report = grade(exercises, traced(path.name), file=path.name, source=path.read_text(encoding="utf-8"))
    assert report.passed, report.text()


def test_the_glossary_explains_the_lessons_words_and_their_links_reach_it() -> None:
    glossary = (LESSONS / "GLOSSARY.md").read_text(encoding="utf-8")
    terms = re.findall(r"^\*\*(.+?)\*\*", glossary, re.MULTILINE)
    for word in ("Transaction", "DDL", "PRAGMA", "RETURNING", "insertmanyvalues", "Identity map", "greenlet"):
        assert any(word in term for term in terms), word
    for word in ("__mapper_args__", "sa_column", "Autoflush", "Expire"):
        assert any(word in term for term in terms), word
    sections = {
        re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        for title in re.findall(r"^## (.+)$", glossary, re.MULTILINE)
    }
    links = [
        (path.name, section)
        for path in LESSON_FILES
        for section in re.findall(r"\]\(GLOSSARY\.md(?:#([\w-]+))?\)", path.read_text(encoding="utf-8"))
    ]
    assert len({name for name, _ in links}) >= 4, "lessons link the glossary where a word first appears"
    assert [link for link in links if link[1] and link[1] not in sections] == []
