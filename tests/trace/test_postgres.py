"""The same program on PostgreSQL: SQLite engines sent to a run's database, faithful to echo.

The oracle is the one of test_echo_oracle.py: each program of tests/programs/ runs plainly with
``echo=True``, its ``sqlite`` URLs replaced in its text by a fresh PostgreSQL database's, and the
traced run (redirected by sqlecho, on another fresh database) must send the same statements and
print the same output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sqlecho import trace
from sqlecho._sandbox.postgres import socket_folder
from sqlecho._trace.options import TraceOptions
from tests.trace.test_echo_oracle import PROGRAMS, output_of, plain_run, sequence_of

pytestmark = pytest.mark.postgres

# Programs that use what only SQLite has (its driver's transaction hooks), with the reason.
SQLITE_ONLY = {
    "savepoints": "turns off pysqlite's own BEGIN with a sqlite3 connection event",
}
_SQLITE_URL = re.compile(r"""(["'])sqlite(?:\+\w+)?://[^"']*\1""")


def _options(database: Any) -> TraceOptions:
    return TraceOptions(database_url=database.url(), database_version="test")


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_sql_sequence_and_output_equal_a_plain_echo_run_on_postgresql(
    program: Path, tmp_path: Path, postgres_databases: Any
) -> None:
    if program.stem in SQLITE_ONLY:
        pytest.skip(f"SQLite only: {SQLITE_ONLY[program.stem]}")
    plain_folder, traced_folder = tmp_path / "plain", tmp_path / "traced"
    plain_folder.mkdir()
    traced_folder.mkdir()
    with postgres_databases.database() as plain_db, postgres_databases.database() as traced_db:
        rewritten = _SQLITE_URL.sub(repr(plain_db.url()), program.read_text(encoding="utf-8"))
        assert rewritten != program.read_text(encoding="utf-8"), "the program names no sqlite URL"
        on_postgres = tmp_path / program.name
        on_postgres.write_text(rewritten, encoding="utf-8")
        expected_sql, expected_output, code = plain_run(on_postgres, plain_folder)
        copy = traced_folder / program.name
        copy.write_text(program.read_text(encoding="utf-8"), encoding="utf-8")
        transcript = trace(copy, _options(traced_db))

    assert "internal_errors" not in transcript
    assert expected_sql, "the plain run on PostgreSQL logged no statement"
    assert sequence_of(transcript) == expected_sql
    assert output_of(transcript) == expected_output
    assert (transcript["status"] == "ok") == (code == 0)
    assert transcript["database"] == {"name": "postgresql", "version": "test"}


PROGRAM = """
from sqlmodel import Field, Session, SQLModel, create_engine, select

class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str

engine = create_engine("sqlite://", connect_args={"check_same_thread": False})
SQLModel.metadata.create_all(engine)
with Session(engine) as session:
    session.add(Book(title="Orbit"))
    session.flush()
    session.rollback()
    book = Book(title="Dune")
    session.add(book)
    session.commit()
    print("id", book.id)
"""


def _sql(transcript: dict[str, Any]) -> list[str]:
    return [e["statement"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "sql"]


def _tables(transcript: dict[str, Any]) -> dict[str, Any]:
    return transcript["steps"][-1]["tables"]


def test_a_rolled_back_id_is_never_reused_on_postgresql_where_sqlite_reuses_it(
    tmp_path: Path, postgres_databases: Any
) -> None:
    program = tmp_path / "ids.py"
    program.write_text(PROGRAM, encoding="utf-8")
    on_sqlite = trace(program)
    with postgres_databases.database() as database:
        on_postgres = trace(program, _options(database))
    assert output_of(on_sqlite) == "id 1\n"
    assert output_of(on_postgres) == "id 2\n"  # the sequence moved on; the rollback does not undo it
    assert _tables(on_postgres)["book"] == {"columns": ["id", "title"], "rows": [[2, "Dune"]]}
    inserts = [sql for sql in _sql(on_postgres) if sql.startswith("INSERT")]
    assert inserts and all("RETURNING book.id" in sql for sql in inserts)
    assert "database" not in on_sqlite


def test_the_panel_shows_committed_rows_only(tmp_path: Path, postgres_databases: Any) -> None:
    program = tmp_path / "panel.py"
    program.write_text(
        "# %% Make\n"
        + PROGRAM.split("with Session")[0]
        + "session = Session(engine)\n"
        + "# %% Add, flush, do not commit\nsession.add(Book(title='Orbit'))\nsession.flush()\n"
        + "# %% Commit\nsession.commit()\n",
        encoding="utf-8",
    )
    with postgres_databases.database() as database:
        transcript = trace(program, _options(database))
    by_title = {step["title"]: step["tables"] for step in transcript["steps"]}
    assert by_title["Add, flush, do not commit"]["book"]["rows"] == []
    assert by_title["Commit"]["book"]["rows"] == [[1, "Orbit"]]


def test_engines_for_other_databases_are_left_alone(tmp_path: Path, postgres_databases: Any) -> None:
    program = tmp_path / "other.py"
    program.write_text(
        "from sqlalchemy import create_engine\n"
        "engine = create_engine('postgresql+psycopg://u:p@/elsewhere?host=/nowhere')\n"
        "print(engine.url.database)\n",
        encoding="utf-8",
    )
    with postgres_databases.database() as database:
        transcript = trace(program, _options(database))
    assert output_of(transcript) == "elsewhere\n"


def test_the_socket_folder_is_read_from_the_url() -> None:
    assert socket_folder("postgresql+psycopg://r:p@/db?host=/tmp/pg/socket") == Path("/tmp/pg/socket")
    assert socket_folder("postgresql+psycopg://r:p@db.internal:5432/db") is None


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlecho", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, **env},
    )


def _admin_url(server: Any) -> str:
    return f"postgresql://sqlecho:{server.password}@/postgres?host={server.socket_dir}"


@pytest.mark.sandbox
def test_cli_traces_on_postgresql_in_the_sandbox(tmp_path: Path, postgres_server: Any) -> None:
    folder = tmp_path / "program"
    folder.mkdir()
    (folder / "ids.py").write_text(PROGRAM, encoding="utf-8")
    done = _cli(
        "trace",
        str(folder / "ids.py"),
        "--db",
        "postgresql",
        "--json",
        env={"SQLECHO_POSTGRES_URL": _admin_url(postgres_server)},
    )
    assert done.returncode == 0, done.stderr
    transcript = json.loads(done.stdout)
    assert transcript["database"]["name"] == "postgresql"
    assert re.fullmatch(r"\d+(\.\d+)*", transcript["database"]["version"])
    assert output_of(transcript) == "id 2\n"


@pytest.mark.sandbox
@pytest.mark.parametrize("shown", [True, False], ids=["pool shows the socket", "pool without it"])
def test_a_pooled_run_on_postgresql_gets_a_worker_that_sees_the_socket(
    tmp_path: Path, postgres_databases: Any, shown: bool
) -> None:
    from sqlecho._sandbox.pool import WorkerPool
    from sqlecho._sandbox.runner import run_sandboxed

    folder = tmp_path / "program"
    folder.mkdir()
    (folder / "ids.py").write_text(PROGRAM, encoding="utf-8")
    sockets = (Path(postgres_databases.socket_dir),) if shown else ()
    with WorkerPool(1, sockets=sockets, folders=(folder,)) as pool, postgres_databases.database() as database:
        assert pool.wait_ready()
        transcript = run_sandboxed(PROGRAM, folder / "ids.py", _options(database), "ids.py", pool=pool)
        warm = pool.warm_runs
        on_sqlite = run_sandboxed(PROGRAM, folder / "ids.py", TraceOptions(), "ids.py", pool=pool)
        assert pool.wait_ready()
        with postgres_databases.database() as again:
            second = run_sandboxed(PROGRAM, folder / "ids.py", _options(again), "ids.py", pool=pool)
        warm_after = pool.warm_runs
    assert output_of(transcript) == "id 2\n", transcript["steps"][-1]["error"]
    assert output_of(on_sqlite) == "id 1\n"
    assert output_of(second) == "id 2\n", second["steps"][-1]["error"]
    assert warm == (1 if shown else 0)  # a pool without the socket starts a worker for the run...
    assert warm_after == warm + 2  # ...and is shown it for the next runs, on either database


def test_cli_says_in_one_line_when_the_server_cannot_be_reached(tmp_path: Path) -> None:
    program = tmp_path / "ids.py"
    program.write_text(PROGRAM, encoding="utf-8")
    unreachable = f"postgresql://nobody:x@/postgres?host={tmp_path / 'no-server'}"
    done = _cli("trace", str(program), "--db", "postgresql", env={"SQLECHO_POSTGRES_URL": unreachable})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("sqlecho: --db postgresql: ") and done.stderr.count("\n") == 1


def test_cli_refuses_an_unknown_database() -> None:
    done = _cli("trace", "lessons/01_engine_and_tables.py", "--db", "oracle", env={})
    assert done.returncode == 2
    assert "invalid choice: 'oracle'" in done.stderr


@pytest.mark.sandbox
def test_export_embeds_the_postgresql_run_compared_with_sqlite(tmp_path: Path, postgres_server: Any) -> None:
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "ids.py").write_text(PROGRAM, encoding="utf-8")
    site = tmp_path / "site"
    done = _cli(
        "export",
        str(folder),
        "-o",
        str(site),
        "--db",
        "postgresql",
        env={"SQLECHO_POSTGRES_URL": _admin_url(postgres_server)},
    )
    assert done.returncode == 0, done.stderr
    page = (site / "ids.html").read_text(encoding="utf-8")
    assert "Compare with PostgreSQL</option>" in page
    # SQLite gives the rolled-back id out again; PostgreSQL's sequence does not.
    assert "With PostgreSQL, Book#2 has the key 2 instead of 1." in page
    assert "id 2" in page and "id 1" in page


def test_export_without_a_server_says_so_in_one_line(tmp_path: Path) -> None:
    program = tmp_path / "ids.py"
    program.write_text(PROGRAM, encoding="utf-8")
    unreachable = f"postgresql://nobody:x@/postgres?host={tmp_path / 'no-server'}"
    done = _cli(
        "export",
        str(program),
        "-o",
        str(tmp_path / "site"),
        "--db",
        "postgresql",
        "--in-process",
        env={"SQLECHO_POSTGRES_URL": unreachable},
    )
    assert done.returncode == 2
    assert done.stderr.startswith("sqlecho: --db postgresql: ") and done.stderr.count("\n") == 1


PER_DATABASE = """# %% Setup
from sqlmodel import create_engine, text

engine = create_engine("sqlite://")

# %% [markdown] tags=["sqlite-only"]
# SQLite keeps its tables in sqlite_master.

# %% Where the tables are tags=["sqlite-only"]
with engine.connect() as connection:
    print(connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar())

# %% [markdown] tags=["postgresql-only"]
# PostgreSQL lists them in pg_tables.

# %% Where the tables are tags=["postgresql-only"]
with engine.connect() as connection:
    print(connection.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar())

# %% Both
print("done")
"""


def test_cells_tagged_for_one_database_run_only_there(tmp_path: Path, postgres_databases: Any) -> None:
    program = tmp_path / "tables.py"
    program.write_text(PER_DATABASE, encoding="utf-8")
    on_sqlite = trace(program)
    with postgres_databases.database() as database:
        on_postgresql = trace(program, _options(database))
    for transcript, narrative, sql in (
        (on_sqlite, "SQLite keeps its tables in sqlite_master.", "sqlite_master"),
        (on_postgresql, "PostgreSQL lists them in pg_tables.", "pg_tables"),
    ):
        assert transcript["status"] == "ok", [step["error"] for step in transcript["steps"]]
        assert [step["title"] for step in transcript["steps"]] == ["Setup", "Where the tables are", "Both"]
        middle = transcript["steps"][1]
        assert middle["narrative"] == narrative
        assert any(sql in event.get("statement", "") for event in middle["events"])
        assert output_of(transcript) == "0\ndone\n"


def test_a_crash_is_placed_in_the_cells_of_the_runs_database() -> None:
    from sqlecho._sandbox.salvage import salvage_steps

    error = {"type": "MemoryError", "message": "out of memory", "line": None, "expected": False}
    line = PER_DATABASE.splitlines().index('# %% Where the tables are tags=["postgresql-only"]') + 3
    steps = salvage_steps([], PER_DATABASE, dict(error), line, "postgresql")
    assert (
        steps[-1]["title"] == "Where the tables are"
        and steps[-1]["narrative"] == "PostgreSQL lists them in pg_tables."
    )
