"""Every lesson on PostgreSQL: it runs to its end (its ``postgresql-only`` cells instead of its
``sqlite-only`` ones), and its transcript matches ``tests/golden/postgresql/<lesson>.json``.

The programs are the lessons as written; sqlecho sends their SQLite engines to a fresh PostgreSQL
database per run (docs/postgresql.md). The server's version is masked in the goldens, so that a
minor upgrade of Debian's package changes nothing. Rewrite them with the lessons' own command::

    python -m pytest tests/trace/test_lessons.py tests/trace/test_lessons_postgresql.py --update-goldens
"""

from __future__ import annotations

import gc
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from sqlecho import trace
from sqlecho._trace.options import TraceOptions
from tests.golden_helpers import check_golden, check_no_orphans
from tests.trace.test_lessons import GOLDEN, LESSON_FILES, MASK, golden_text

pytestmark = pytest.mark.postgres

POSTGRES_GOLDEN = GOLDEN / "postgresql"
UPDATE_COMMAND = "python -m pytest tests/trace/test_lessons_postgresql.py --update-goldens"

# Lessons with cells for one database only (tags=["sqlite-only"] / ["postgresql-only"]), by topic
# (the file name without its number): on PostgreSQL they run its own cells, to the end.
PER_DATABASE = {
    "engine_and_tables": "asks pg_tables, not sqlite_master",
    "cascade_delete": "needs no PRAGMA foreign_keys: the database cascades",
    "async_sessions": "makes its clock with CREATE FUNCTION",
    "server_generated_values": "makes its clock with CREATE FUNCTION",
    "unique_constraints": "upserts with sqlalchemy.dialects.postgresql.insert",
    "create_all_never_alters": "writes last month's table with SERIAL",
}

lesson_params = pytest.mark.parametrize("path", LESSON_FILES, ids=[path.stem for path in LESSON_FILES])


def traced_on_postgresql(path: Path, databases: Any) -> tuple[dict[str, Any], str]:
    """The lesson's transcript on a fresh database, and its golden text.

    A lesson that prints how it connects (29 shows ``do_connect``'s arguments) prints the run's
    own database, role, password and socket, and psycopg's objects with their addresses: the
    golden text names them by role instead.
    """
    with databases.database() as database:
        options = TraceOptions(database_url=database.url(), database_version=databases.version())
        transcript = trace(path, options, source_name=f"lessons/{path.name}")
        # A lesson stopped halfway leaves its session's connection open (in a sandboxed run its
        # process ends with it); in this process, close what it left before the database goes.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    transcript["database"]["version"] = MASK
    text = golden_text(transcript)
    for value, name in (
        (database.password, "<password>"),
        (database.name, "<database>"),
        (database.socket_dir, "<socket folder>"),
    ):
        text = text.replace(value, name)
    return transcript, re.sub(r" at 0x[0-9a-f]+>", " at 0x...>", text)


@lesson_params
def test_lesson_runs_on_postgresql_and_matches_its_golden(
    path: Path, postgres_databases: Any, update_goldens: bool
) -> None:
    transcript, text = traced_on_postgresql(path, postgres_databases)
    unexpected = [step for step in transcript["steps"] if step["error"] and not step["error"]["expected"]]
    assert transcript["status"] == "ok", [step["error"] for step in unexpected]
    assert "internal_errors" not in transcript
    check_golden(POSTGRES_GOLDEN / f"{path.stem}.json", text, update_goldens, UPDATE_COMMAND)


def test_every_postgresql_golden_has_a_lesson(update_goldens: bool) -> None:
    check_no_orphans(POSTGRES_GOLDEN, (path.stem for path in LESSON_FILES), update_goldens)


@pytest.mark.parametrize("topic", sorted(PER_DATABASE))
def test_a_lesson_with_per_database_cells_runs_other_steps_on_each(topic: str) -> None:
    from sqlecho._trace.cells import step_cells

    (path,) = [path for path in LESSON_FILES if path.stem[3:] == topic]
    source = path.read_text(encoding="utf-8")
    on_sqlite = [(step.cell.first_line, step.cell.title) for step in step_cells(source, "sqlite")]
    on_postgresql = [(step.cell.first_line, step.cell.title) for step in step_cells(source, "postgresql")]
    assert on_sqlite != on_postgresql, PER_DATABASE[topic]
    assert len(on_sqlite) == len(on_postgresql)  # each variant stands in for the other, step for step
