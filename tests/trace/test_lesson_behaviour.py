"""Tracer behaviour the lessons rely on: caught errors in tagged cells, and what "expired" means."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from sqlecho import trace

BOOKS = """\
from sqlmodel import Field, Session, SQLModel, create_engine


class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str
    copies: int = 1


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
session.add(Book(title="A"))
session.commit()
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "program.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_an_error_caught_inside_a_tagged_cell_is_the_steps_expected_error(tmp_path: Path) -> None:
    """So that a lesson can catch its error (and run to the end with plain python) and still show it."""
    path = write(
        tmp_path,
        """\
        # %% One
        x = 1
        # %% Boom tags=["raises-exception"]
        try:
            {}["missing"]
        except KeyError as error:
            print("caught", error)
        # %% After
        print("still running")
        """,
    )
    before = sys.gettrace()
    transcript = trace(path)
    assert sys.gettrace() is before
    boom, after = transcript["steps"][1], transcript["steps"][2]
    assert boom["error"] == {
        "type": "KeyError",
        "message": "'missing'",
        "line": 5,
        "expected": True,
        "caught": True,
    }
    assert [e["text"] for e in boom["events"] if e["kind"] == "output"] == ["caught 'missing'\n"]
    assert "notes" not in boom
    assert after["error"] is None and transcript["status"] == "ok"


def test_a_caught_error_is_recorded_at_the_line_of_the_cell_that_called_into_the_library(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """\
        # %% Setup
        import json
        # %% Boom tags=["raises-exception"]
        try:
            json.loads("{")
        except ValueError:
            pass
        """,
    )
    error = trace(path)["steps"][1]["error"]
    assert (error["type"], error["line"], error["caught"]) == ("JSONDecodeError", 5, True)


def test_an_error_caught_in_an_untagged_cell_is_not_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        # %% Quiet
        try:
            1 / 0
        except ZeroDivisionError:
            pass
        """,
    )
    assert trace(path)["steps"][0]["error"] is None


def test_expired_lists_only_what_the_next_access_would_load(tmp_path: Path) -> None:
    """Setting an expired attribute fills it; it is no longer expired for the reader."""
    path = write(
        tmp_path,
        "# %% Setup\n"
        + BOOKS
        + "# %% Set one\nbook = session.get(Book, 1)\nsession.expire(book)\nbook.copies = 5\n",
    )
    snapshot = trace(path)["steps"][1]["objects"][-1]
    assert snapshot["values"] == {"copies": 5}
    assert snapshot["expired"] == ["id", "title"]


def test_a_recorder_that_fails_to_install_halfway_leaves_no_listener() -> None:
    from sqlalchemy import create_engine, event

    from sqlecho._record.recorder import EngineRecorder

    engine = create_engine("sqlite://")
    recorder = EngineRecorder(engine, lambda _e: None, lambda _s, _d: (None, "query"), lambda: None)
    recorder._EVENTS = ("begin", "commit", "no_such_event")  # type: ignore[misc]
    recorder._listeners["no_such_event"] = (lambda *_a: None, {})
    try:
        recorder.install()
    except Exception:  # noqa: BLE001 - SQLAlchemy's error for an unknown event name
        pass
    recorder.remove()
    assert not event.contains(engine, "begin", recorder._listeners["begin"][0])
    assert not event.contains(engine, "commit", recorder._listeners["commit"][0])


def test_fast_parameter_rows_equal_the_general_conversion() -> None:
    import datetime
    import decimal

    from sqlecho._transcript.values import jsonable, jsonable_row

    rows = [
        (1, "a", None, True, 2.5),
        (float("nan"), 1),
        (float("inf"),),
        ("x" * 501,),
        (datetime.date(2026, 1, 2), decimal.Decimal("1.5"), b"\x00\x01"),
        {"name": "a", "id": 1},
        [1, 2],
        (),
    ]
    for row in rows:
        assert jsonable_row(row) == jsonable(row), row
