"""``trace FILE --compare EDITED`` and ``--compare-db``: what the other run did differently."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from sqlecho._trace.tracer import in_process
from tests.helpers import ROOT

LESSON = ROOT / "lessons" / "06_closing_the_session.py"
CELL = "# %% Add a book inside a with block"


def _edited(tmp_path: Path, replace: str, by: str) -> Path:
    source = LESSON.read_text(encoding="utf-8")
    start = source.index(CELL)
    end = source.index("# %%", start + len(CELL))
    assert replace in source[start:end]
    edited = tmp_path / "06_edited.py"
    edited.write_text(
        source[:start] + source[start:end].replace(replace, by) + source[end:], encoding="utf-8"
    )
    return edited


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_an_edited_cell_is_compared_step_by_step_with_the_lesson(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = _edited(
        tmp_path, "    session.commit()\n", "    session.commit()\n    session.refresh(lantern)\n"
    )
    status = main(["trace", str(LESSON), "--compare", str(edited)], runner=in_process)
    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith(f"Comparing {LESSON} with {edited}\n")
    assert "= Step 1 · Setup" in out  # the cells before the edit did the same
    refresh = _line_of(edited, "session.refresh(lantern)")
    assert f"With the edited code there is an extra SELECT (refresh Book#1, line {refresh})." in out
    assert "With the edited code, Book#1 keeps its loaded values: nothing is expired." in out
    # The next cell no longer fails, and the last one no longer needs its reload.
    assert re.search(r"Read a title after the session closed · lines \d+-\d+", out)
    assert "With the edited code this step raises no error." in out
    assert re.search(r"With the edited code this SELECT \(load expired Book#1, line \d+\) is gone\.", out)
    assert out.rstrip().endswith("3 steps differ")


def test_an_edit_that_fails_is_named_at_its_step_and_the_rest_never_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = _edited(tmp_path, "    session.commit()\n", "    session.commit()\n    session.refresh(book)\n")
    status = main(["trace", str(LESSON), "--compare", str(edited)], runner=in_process)
    out = capsys.readouterr().out
    assert status == 1  # the edited run did not run to its end
    assert "With the edited code this step raises NameError." in out
    assert "With the edited code the program never gets to this step." in out


def test_the_comparison_as_json_holds_both_runs_and_the_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = _edited(
        tmp_path, "    session.commit()\n", "    session.commit()\n    session.refresh(lantern)\n"
    )
    assert main(["trace", str(LESSON), "--compare", str(edited), "--json"], runner=in_process) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["a"]["source"] == document["b"]["source"] == str(LESSON)
    first = document["differences"][0]
    assert (first["a_step"], first["b_step"]) == (1, 1)
    extra = [document["b"]["steps"][1]["events"][index] for index in first["only_b"]]
    assert [event.get("cause") for event in extra if event["kind"] == "sql"] == ["refresh Book#1"]


def test_comparing_with_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(LESSON), "--compare", "no/such/file.py"], runner=in_process) == 2
    assert capsys.readouterr().err == "sqlecho: no such file: no/such/file.py\n"


def test_compare_db_refuses_a_database_choice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(LESSON), "--compare-db", "--db", "postgresql"], runner=in_process) == 2
    assert "leave out --db" in capsys.readouterr().err


PROGRAM = """
from sqlmodel import Field, Session, SQLModel, create_engine, select

class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str

engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with Session(engine) as session:
    session.add(Book(title="Orbit"))
    session.flush()
    session.rollback()
    book = Book(title="Dune")
    session.add(book)
    session.commit()
    locked = session.exec(select(Book).with_for_update()).all()
"""


@pytest.mark.postgres
def test_compare_db_names_what_postgresql_does_differently(tmp_path: Path, postgres_server: Any) -> None:
    program = tmp_path / "ids.py"
    program.write_text(PROGRAM, encoding="utf-8")
    admin = f"postgresql://sqlecho:{postgres_server.password}@/postgres?host={postgres_server.socket_dir}"
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", str(program), "--compare-db", "--in-process"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "SQLECHO_POSTGRES_URL": admin},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"Comparing {program} on SQLite with the same program on PostgreSQL ")
    assert "With PostgreSQL, 4 statements run in addition: 3 SELECT, 1 SHOW." in out  # connect + ddl
    assert "+ select pg_catalog.version()" in out
    assert "On PostgreSQL this INSERT (flush, line 16) returns the new row's values itself (RETURNING)" in out
    assert "With PostgreSQL, Book#2 has the key 2 instead of 1." in out
    assert "On PostgreSQL this SELECT (query, line 17) locks the rows it reads (FOR UPDATE)" in out
