"""The transcript's SQL equals SQLAlchemy's own ``echo=True`` log, and its output a plain run's.

Each program in tests/programs/ creates its engines with ``echo=True``. We run it plainly with
``python FILE`` in a fresh folder, split its stdout into echo records and the program's own output,
then trace it and compare: the oracle is SQLAlchemy itself, not expectations copied by hand.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.sql.util import _long_statement

from sqlecho import trace
from tests.helpers import TESTS

PROGRAMS = sorted((TESTS / "programs").glob("*.py"))
# Records of SQLAlchemy's echo logger, delimited so that multi-line SQL and the program's prints
# separate cleanly. With a handler already on the logger, echo=True adds no default handler; the
# records themselves are exactly what echo logs.
_START, _END = "\x1e", "\x1f"
_PLAIN = f"""
import logging, runpy, sys
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter({_START!r} + "%(message)s" + {_END!r}))
logging.getLogger("sqlalchemy.engine.Engine").addHandler(handler)
sys.argv = [sys.argv[1]]
sys.path.insert(0, "")
runpy.run_path(sys.argv[0], run_name="__main__")
"""
_RECORD = re.compile(f"{_START}(.*?){_END}\n", re.DOTALL)


def _fold(sql: str) -> str:
    return " ".join(sql.split())


def plain_run(program: Path, folder: Path) -> tuple[list[tuple[str, str]], str, int]:
    """Run ``program`` as ``python FILE`` in ``folder``: (echo records, program output, exit code)."""
    copy = folder / program.name
    shutil.copy(program, copy)
    result = subprocess.run(
        [sys.executable, "-c", _PLAIN, copy.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    sequence: list[tuple[str, str]] = []
    for message in _RECORD.findall(result.stdout):
        if message.startswith("["):
            continue  # the parameters of the previous statement
        if message == "BEGIN (implicit)":
            sequence.append(("begin", ""))
        elif message in ("COMMIT", "ROLLBACK"):
            sequence.append((message.lower(), ""))
        else:
            sequence.append(("sql", _fold(message)))
    return sequence, _RECORD.sub("", result.stdout), result.returncode


def traced(program: Path, folder: Path) -> dict[str, Any]:
    copy = folder / program.name
    shutil.copy(program, copy)
    return trace(copy)


def sequence_of(transcript: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for step in transcript["steps"]:
        for event in step["events"]:
            if event["kind"] in ("begin", "commit", "rollback"):
                out.append((event["kind"], ""))
            elif event["kind"] == "sql":
                out.append(("sql", _fold(_long_statement(event["statement"]))))
    return out


def output_of(transcript: dict[str, Any]) -> str:
    return "".join(
        event["text"]
        for step in transcript["steps"]
        for event in step["events"]
        if event["kind"] == "output" and event.get("stream") is None
    )


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_sql_sequence_and_output_equal_a_plain_echo_run(program: Path, tmp_path: Path) -> None:
    plain_folder, traced_folder = tmp_path / "plain", tmp_path / "traced"
    plain_folder.mkdir()
    traced_folder.mkdir()
    expected_sql, expected_output, code = plain_run(program, plain_folder)
    transcript = traced(program, traced_folder)

    assert "internal_errors" not in transcript
    assert sequence_of(transcript) == expected_sql
    assert output_of(transcript) == expected_output
    assert (transcript["status"] == "ok") == (code == 0)
    assert sorted(p.name for p in traced_folder.iterdir()) == [program.name], "wrote beside the program"


def test_every_program_emits_sql() -> None:
    """Guard against a vacuous oracle: each program really logs statements when run plainly."""
    assert len(PROGRAMS) >= 7
