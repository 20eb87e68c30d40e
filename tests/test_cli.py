"""``python -m sqlecho trace``: output forms and exit statuses (CONTRACT §1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from sqlecho._trace.tracer import TraceOptions, trace_source

PROGRAM = """\
# %% Setup
from sqlmodel import Field, Session, SQLModel, create_engine


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite://", echo=True)
SQLModel.metadata.create_all(engine)

# %% Save
with Session(engine) as session:
    session.add(Hero(name="Deadpond"))
    session.commit()
    print("saved")
"""


def in_process(source: str, path: Path, options: TraceOptions, name: str) -> dict[str, Any]:
    return trace_source(source, path, options, source_name=name)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv, runner=in_process)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_one_document_and_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lesson.py"
    path.write_text(PROGRAM)
    code, out, err = run(["trace", str(path), "--json"], capsys)
    assert code == 0 and err == ""
    transcript = json.loads(out)
    assert transcript["version"] == 1 and transcript["source"] == str(path)
    assert [s["title"] for s in transcript["steps"]] == ["Setup", "Save"]


def test_text_form_reads_like_an_annotated_echo_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "lesson.py"
    path.write_text(PROGRAM)
    code, out, _ = run(["trace", str(path)], capsys)
    assert code == 0
    save = out[out.index("Step 2/2 · Save") :]
    for expected in (
        "14 | with Session(engine) as session:",
        "BEGIN (implicit)  (line 16)",
        "INSERT INTO hero (name) VALUES (?)",
        '[parameters ["Deadpond"]; cause: flush]  (line 16)',
        "COMMIT  (line 16)",
        "~ Hero#1: pending -> persistent  (line 16)",
        "> saved",
    ):
        assert expected in save, expected
    assert out.rstrip().endswith("status: ok")


def test_program_error_exits_1_with_the_transcript(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.py"
    path.write_text("print('start')\nraise RuntimeError('boom')\n")
    code, out, _ = run(["trace", str(path), "--json"], capsys)
    assert code == 1
    steps = json.loads(out)["steps"]
    assert steps[-1]["error"] == {"type": "RuntimeError", "message": "boom", "line": 2, "expected": False}


def test_switches_reach_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lesson.py"
    path.write_text(PROGRAM)
    _, out, _ = run(["trace", str(path), "--json", "--no-expire-on-commit", "--no-autoflush"], capsys)
    assert json.loads(out)["options"] == {"expire_on_commit": False, "autoflush": False}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.py", "no such file"),
        (lambda d: d, "is a folder"),
        (lambda d: (d / "data.bin").write_bytes(b"\x00\x01\x02\xff") and d / "data.bin", "not Python source"),
        (
            lambda d: (d / "notes.txt").write_text("just some words here") and d / "notes.txt",
            "not Python source",
        ),
    ],
    ids=["missing", "folder", "binary", "text"],
)
def test_usage_problems_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(["trace", str(make(tmp_path))], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("sqlecho: ")


def test_unknown_option_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["trace", "x.py", "--bogus"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--bogus" in err


def test_real_command_line(tmp_path: Path) -> None:
    """The module entry point end to end, through the default (sandboxed) runner."""
    path = tmp_path / "lesson.py"
    path.write_text(PROGRAM)
    result = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["steps"][1]["events"][-1] == {
        "kind": "output",
        "line": 17,
        "text": "saved\n",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.py"]
