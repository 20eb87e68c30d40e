"""Tracing notebook cells in the notebook's own namespace (:class:`CellTracer`), without a kernel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlecho._trace.isolation import reset_sqlmodel
from sqlecho._trace.notebook import CellTracer

SETUP = """\
from sqlmodel import Field, Session, SQLModel, create_engine


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
"""


@pytest.fixture
def namespace() -> Iterator[dict[str, Any]]:
    """A notebook's globals with a model, an engine and a session, made without tracing."""
    reset_sqlmodel()
    names: dict[str, Any] = {"__name__": "__main__"}
    exec(SETUP, names)
    yield names
    names["session"].close()
    names["engine"].dispose()
    reset_sqlmodel()


def _sql(step: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(e["statement"].split()[0], e["cause"], e["line"]) for e in step["events"] if e["kind"] == "sql"]


def test_a_cell_is_one_step_and_its_variables_carry_on(namespace: dict[str, Any]) -> None:
    tracer = CellTracer()
    first = tracer.run(
        'hero = Hero(name="Deadpond")\nsession.add(hero)\nsession.commit()', namespace, echo=False
    )
    assert first.error is None and first.value is None
    [step] = first.transcript["steps"]
    assert step["lines"] == [1, 3]
    assert _sql(step) == [("INSERT", "flush", 3)]
    assert [(o["label"], o["names"], o["state"], o["expired"]) for o in step["objects"]] == [
        ("Hero#1", ["hero"], "persistent", ["id", "name"])
    ]
    assert "hero" in namespace
    second = tracer.run("hero.name", namespace, echo=False)
    assert second.value == "Deadpond"  # the last expression's value, as a cell shows it
    [step] = second.transcript["steps"]
    assert [e["cause"] for e in step["events"] if e["kind"] == "sql"] == ["load expired Hero#1"]
    assert step["objects"][0]["label"] == "Hero#1"  # the label lasts from cell to cell


def test_cards_are_read_without_loading(namespace: dict[str, Any]) -> None:
    tracer = CellTracer()
    tracer.run('hero = Hero(name="A")\nsession.add(hero)\nsession.commit()', namespace, echo=False)
    result = tracer.run("x = 1", namespace, echo=False)
    [step] = result.transcript["steps"]
    assert step["events"] == []  # no SELECT: the expired hero was not touched
    assert step["objects"][0]["expired"] == ["id", "name"]
    assert "id" not in namespace["hero"].__dict__


def test_objects_made_before_sqlecho_get_cards(namespace: dict[str, Any]) -> None:
    exec('early = Hero(name="Early")', namespace)
    result = CellTracer().run("session.add(early)", namespace, echo=False)
    [step] = result.transcript["steps"]
    assert [(o["label"], o["names"], o["state"]) for o in step["objects"]] == [
        ("Hero#1", ["early"], "pending")
    ]


def test_lines_steps_each_executed_line(namespace: dict[str, Any]) -> None:
    result = CellTracer().run(
        'hero = Hero(name="B")\nsession.add(hero)\nsession.flush()\nprint(hero.id)',
        namespace,
        lines=True,
        echo=False,
    )
    steps = result.transcript["steps"]
    assert [s["lines"] for s in steps] == [[1, 1], [2, 2], [3, 3], [4, 4]]
    assert [s["objects"][0]["state"] for s in steps] == ["transient", "pending", "persistent", "persistent"]
    assert _sql(steps[2]) == [("INSERT", "flush", 3)]
    assert [e["text"] for e in steps[3]["events"] if e["kind"] == "output"] == ["1\n"]


def test_an_error_is_recorded_on_its_step_and_handed_back(namespace: dict[str, Any]) -> None:
    result = CellTracer().run("x = 1\n1 / 0", namespace, echo=False)
    assert isinstance(result.error, ZeroDivisionError)
    [step] = result.transcript["steps"]
    assert step["error"]["type"] == "ZeroDivisionError" and step["error"]["line"] == 2
    assert result.transcript["status"] == "error"
    assert namespace["x"] == 1


def test_prints_are_recorded_and_still_shown(
    namespace: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = CellTracer().run('print("hello")', namespace)
    assert capsys.readouterr().out == "hello\n"
    [step] = result.transcript["steps"]
    assert step["events"] == [{"kind": "output", "line": 1, "text": "hello\n"}]


def test_the_database_panel_reads_the_notebooks_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reset_sqlmodel()
    names: dict[str, Any] = {"__name__": "__main__"}
    try:
        exec(SETUP.replace('"sqlite://"', '"sqlite:///heroes.db"'), names)
        result = CellTracer().run('session.add(Hero(name="A"))\nsession.commit()', names, echo=False)
        [step] = result.transcript["steps"]
        assert step["tables"] == {
            "hero": {"columns": ["id", "name"], "rows": [[1, "A"]], "primary_key": ["id"]}
        }
        assert sorted(p.name for p in tmp_path.iterdir()) == ["heroes.db"]  # nothing moved, nothing added
    finally:
        names["session"].close()
        names["engine"].dispose()
        reset_sqlmodel()


def test_an_in_memory_database_opened_in_a_traced_cell_shows_its_committed_rows() -> None:
    reset_sqlmodel()
    names: dict[str, Any] = {"__name__": "__main__"}
    tracer = CellTracer()
    try:
        result = tracer.run(SETUP + 'session.add(Hero(name="A"))\nsession.commit()', names, echo=False)
        [step] = result.transcript["steps"]
        assert step["tables"]["hero"]["rows"] == [[1, "A"]]
        # The next cell reads the same database: its stand-in outlives the cell that made it.
        later = tracer.run('session.add(Hero(name="B"))\nsession.commit()', names, echo=False)
        assert later.transcript["steps"][0]["tables"]["hero"]["rows"] == [[1, "A"], [2, "B"]]
    finally:
        names["session"].close()
        names["engine"].dispose()
        reset_sqlmodel()


def test_kept_standing_in_an_in_memory_database_opened_outside_a_traced_cell_shows_too() -> None:
    reset_sqlmodel()
    names: dict[str, Any] = {"__name__": "__main__"}
    tracer = CellTracer()
    tracer.keep_standing_in()  # what %load_ext does, before the notebook makes its engine
    try:
        exec(SETUP, names)  # a plain cell: not traced
        result = tracer.run('session.add(Hero(name="A"))\nsession.commit()', names, echo=False)
        assert result.transcript["steps"][0]["tables"]["hero"]["rows"] == [[1, "A"]]
    finally:
        tracer.close()
        names["session"].close()
        names["engine"].dispose()
        reset_sqlmodel()


def test_without_standing_in_a_plain_cells_in_memory_database_has_no_panel(namespace: dict[str, Any]) -> None:
    result = CellTracer().run('session.add(Hero(name="A"))\nsession.commit()', namespace, echo=False)
    assert result.transcript["steps"][0]["tables"] == {}  # no second connection could read it
