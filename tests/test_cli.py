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


# -- what the program prints cannot drive the reader's terminal ----------------------------------

HOSTILE = """\
# %% [markdown]
# Narrative NARRATED text

# %% Title TITLED here
from sqlmodel import Field, Session, SQLModel, create_engine


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)

# %% Attack
print("\\x1b]0;pwned\\x07")
print("\\x1b]52;c;cHduZWQ=\\x07", "\\x9b31m", "tab\\tkept")
with Session(engine) as session:
    hero = Hero(name="Dead\\x1b[31mpond\\x9b")
    session.add(hero)
    session.commit()
    session.refresh(hero)
raise ValueError("\\x1b]52;c;ZXJyb3I=\\x07")
"""


def _escape_free(text: str) -> None:
    assert not [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


def test_text_form_shows_control_characters_instead_of_sending_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hostile.py"
    # Raw control characters in the file too: in a title, a markdown cell, and so in source lines.
    path.write_text(HOSTILE.replace("TITLED", "\x1b[2J").replace("NARRATED", "\x1b]0;x\x07"))
    code, out, _ = run(["trace", str(path)], capsys)
    assert code == 1
    _escape_free(out)
    for expected in (
        r"> \x1b]0;pwned\x07",  # output: the window title stays as it was
        r"> \x1b]52;c;cHduZWQ=\x07 \x9b31m tab" + "\tkept",  # OSC 52 (clipboard), 8-bit CSI; tab kept
        r"Title \x1b[2J here",  # the step title, and the source line it came from
        r"  # Narrative \x1b]0;x\x07 text",
        r'"Dead\u001b[31mpond\x9b"',  # parameters and object values (JSON-escaped C0 too)
        r"ValueError: \x1b]52;c;ZXJyb3I=\x07",
    ):
        assert expected in out, expected


def test_json_form_escapes_every_control_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hostile.py"
    path.write_text(HOSTILE)
    _, out, _ = run(["trace", str(path), "--json"], capsys)
    _escape_free(out)
    transcript = json.loads(out)  # still JSON, and the strings are as the program printed them
    printed = [e["text"] for e in transcript["steps"][1]["events"] if e["kind"] == "output"]
    assert printed == ["\x1b]0;pwned\x07\n", "\x1b]52;c;cHduZWQ=\x07 \x9b31m tab\tkept\n"]
    assert "\\u009b" in out and "\\u001b" in out


def test_a_forged_line_range_prints_at_most_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.py"
    path.write_text("x = 1\n")
    step = {"index": 0, "lines": [1, 10**15], "events": [], "objects": []}
    forged = {"version": 1, "status": "ok", "steps": [step]}
    code = main(["trace", str(path)], runner=lambda *_: forged)
    out, _ = capsys.readouterr()
    assert code == 0 and "   1 | x = 1" in out and "   2 |" not in out
