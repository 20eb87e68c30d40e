"""Every lesson on PostgreSQL: it runs (or stops exactly at its SQLite-only code), and its
transcript matches ``tests/golden/postgresql/<lesson>.json``.

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

# Lessons whose code only SQLite understands, and the cell where PostgreSQL stops them.
SQLITE_ONLY = {
    "01_engine_and_tables": "reads sqlite_master",
    "20_cascade_delete": "sends PRAGMA foreign_keys",
    "26_async_sessions": "registers a SQLite function (create_function) for its clock",
    "25_server_generated_values": "registers a SQLite function (create_function) for its clock",
    "28_unique_constraints": "uses SQLite's INSERT ... ON CONFLICT",
    "36_create_all_never_alters": "writes SQLite's DDL by hand (an INTEGER key that fills itself)",
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
    if path.stem in SQLITE_ONLY:
        assert transcript["status"] == "error" and len(unexpected) == 1, (
            f"{path.stem} should stop at the code that {SQLITE_ONLY[path.stem]}"
        )
    else:
        assert transcript["status"] == "ok", [step["error"] for step in unexpected]
    assert "internal_errors" not in transcript
    check_golden(POSTGRES_GOLDEN / f"{path.stem}.json", text, update_goldens, UPDATE_COMMAND)


def test_every_postgresql_golden_has_a_lesson(update_goldens: bool) -> None:
    check_no_orphans(POSTGRES_GOLDEN, (path.stem for path in LESSON_FILES), update_goldens)
