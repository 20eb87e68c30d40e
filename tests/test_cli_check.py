"""``python -m sqlecho check``: grading exercise cells (CONTRACT section 5)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from sqlecho._trace.tracer import TraceOptions, trace_source
from tests.helpers import ROOT

LESSON = """\
# %% Setup
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
session.add(Hero(name="Ada"))
session.commit()

# %% Count tags=["exercise"] check="select == 1; prints 'heroes: 1'" hint="One query."
heroes = session.exec(select(Hero)).all()
print("heroes:", len(heroes))

# %% Close tags=["exercise"] check="sql == 0; state Hero#2 detached"
session.close()
"""
SLOW = LESSON.replace(
    "heroes = session.exec(select(Hero)).all()\n",
    "heroes = session.exec(select(Hero)).all()\nagain = session.exec(select(Hero)).all()\n",
)


def in_process(source: str, path: Path, options: TraceOptions, name: str) -> dict[str, Any]:
    return trace_source(source, path, options, source_name=name)


def _file(tmp_path: Path, text: str, name: str = "lesson.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _check(*args: str | Path) -> int:
    return main(["check", *map(str, args)], runner=in_process)


def test_a_passing_file_prints_pass_per_exercise_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(_file(tmp_path, LESSON)) == 0
    assert capsys.readouterr().out == "PASS  Count\nPASS  Close\n2 of 2 exercises passed\n"


FAILED_COUNT = "select == 1: expected exactly 1 (select == 1), measured 2 SELECTs; sent by lines 17, 18"


def test_a_failing_check_names_each_failed_clause_with_what_was_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What was expected, what was measured, the lines that sent it, and the hint."""
    assert _check(_file(tmp_path, SLOW)) == 1
    assert capsys.readouterr().out == (
        f"FAIL  Count\n      {FAILED_COUNT}\n      Hint: One query.\nPASS  Close\n1 of 2 exercises passed\n"
    )


def test_against_takes_the_checks_from_the_lesson_and_the_code_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    teacher = _file(tmp_path, LESSON, "teacher.py")
    # The student loosened the check in their copy: it changes nothing.
    student = _file(tmp_path, SLOW.replace('check="select == 1;', 'check="select >= 1;'), "student.py")
    assert _check(student) == 0
    capsys.readouterr()
    assert _check(student, "--against", teacher) == 1
    assert FAILED_COUNT in capsys.readouterr().out


def test_against_fails_an_exercise_missing_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    teacher = _file(tmp_path, LESSON, "teacher.py")
    student = _file(tmp_path, LESSON.replace("# %% Close", "# %% Shut"), "student.py")
    assert _check(student, "--against", teacher) == 1
    assert "FAIL  Close\n      the cell “Close” is not in the file\n" in capsys.readouterr().out


def test_json_is_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, SLOW)
    assert _check(path, "--json") == 1
    document = json.loads(capsys.readouterr().out)
    assert document["passed"] is False and document["status"] == "ok" and document["against"] is None
    count, close = document["exercises"]
    assert (count["title"], count["line"], count["passed"]) == ("Count", 16, False)
    assert (count["hint"], count["task"]) == ("One query.", "")
    assert count["clauses"] == [
        {
            "clause": "select == 1",
            "passed": False,
            "expected": "exactly 1 (select == 1)",
            "measured": "2 SELECTs",
            "lines": [17, 18],
        },
        {
            "clause": "prints 'heroes: 1'",
            "passed": True,
            "expected": "prints 'heroes: 1'",
            "measured": "printed 'heroes: 1'",
            "lines": [19],
        },
    ]
    assert close["passed"] is True


def test_junit_xml_has_one_testcase_per_exercise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.xml"
    assert _check(_file(tmp_path, SLOW), "--junit-xml", report) == 1
    assert "FAIL  Count" in capsys.readouterr().out  # the text report is still printed
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["Count", "Close"]
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("message") == FAILED_COUNT
    assert failure.text == f"{FAILED_COUNT}\nHint: One query."
    assert cases[1].find("failure") is None


def test_a_program_that_fails_fails_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = LESSON.replace("session.close()", "session.close()\n1 / 0")
    assert _check(_file(tmp_path, broken)) == 1
    out = capsys.readouterr().out
    assert "The program failed: ZeroDivisionError: division by zero (line 22)" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            LESSON.replace('check="sql == 0;', 'check="sql = 0;'),
            "lesson.py:20: malformed check: bad clause 'sql = 0': expected COUNTER OP N",
        ),
        (LESSON.replace('tags=["exercise"]', ""), "lesson.py has no exercise cells"),
    ],
)
def test_malformed_checks_and_files_without_exercises_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    assert _check(_file(tmp_path, text)) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert message in captured.err and captured.err.startswith("sqlecho: ")


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lesson = _file(tmp_path, LESSON)
    assert _check(tmp_path / "missing.py") == 2
    assert _check(lesson, "--against", tmp_path / "nope.py") == 2
    assert _check(lesson, "--frobnicate") == 2
    assert _check(lesson, "--junit-xml", tmp_path / "no" / "such" / "dir.xml") == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 4 and all(line.startswith("sqlecho: ") for line in errors)
    assert "no such file" in errors[0] and "nope.py" in errors[1] and "frobnicate" in errors[2]
    assert "cannot write" in errors[3]


def test_the_command_runs_in_the_sandbox_by_default(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "check", str(_file(tmp_path, LESSON))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "PASS  Count\nPASS  Close\n2 of 2 exercises passed\n",
        "",
    )


def test_a_check_of_only_prints_and_upper_bounds_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weak = LESSON.replace('check="select == 1;', 'check="select <= 1;')
    assert _check(_file(tmp_path, weak)) == 2
    err = capsys.readouterr().err
    assert "lesson.py:16: malformed check" in err and "only prints, raises nothing and upper bounds" in err
    assert "Traceback" not in err and err.count("\n") == 1
