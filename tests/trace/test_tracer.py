"""The tracer: steps, states, causes, options, errors and isolation, on small programs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sqlecho import TraceOptions, trace

MODELS = """\
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    heroes: list["Hero"] = Relationship(back_populates="team")


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    age: int | None = None
    team_id: int | None = Field(default=None, foreign_key="team.id")
    team: Team | None = Relationship(back_populates="heroes")


engine = create_engine("sqlite://", echo=True)
SQLModel.metadata.create_all(engine)
"""


def write(tmp_path: Path, body: str, name: str = "program.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def lesson(tmp_path: Path, *cells: str) -> Path:
    """A cell-format program: the models cell, then one cell per argument ("Title\\ncode")."""
    parts = ["# %% Models\n" + MODELS]
    for cell in cells:
        title, _, code = textwrap.dedent(cell).strip("\n").partition("\n")
        parts.append(f"# %% {title}\n{code}\n")
    return write(tmp_path, "\n".join(parts))


def step(transcript: dict[str, Any], title: str) -> dict[str, Any]:
    return next(s for s in transcript["steps"] if s["title"] == title)


def obj(s: dict[str, Any], label: str) -> dict[str, Any]:
    return next(o for o in s["objects"] if o["label"] == label)


def sql(s: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in s["events"] if e["kind"] == "sql"]


def printed(transcript: dict[str, Any]) -> str:
    """Everything the program printed, all steps together."""
    return "".join(e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output")


def masked(transcript: dict[str, Any]) -> str:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if not k.endswith(("_ms", "_s"))}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(transcript), sort_keys=True)


def test_full_lifecycle_states_and_expiry(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Create\nhero = Hero(name='Deadpond', age=30)",
        "Add\nsession = Session(engine)\nsession.add(hero)",
        "Flush\nsession.flush()",
        "Commit\nsession.commit()",
        "Access\nprint(hero.name)",
        "Partial expiry\nsession.expire(hero, ['age'])",
        "Dirty\nhero.name = 'Pool'",
        "Delete\nsession.delete(hero)\nsession.flush()",
        "Commit delete\nsession.commit()",
        "Another\nother = session.get(Hero, 1)\nother = Hero(name='Rusty')\nsession.add(other)\nsession.commit()\n"
        "other_id = other.id",
        "Close\nsession.close()",
    )
    t = trace(path)
    assert t["status"] == "ok", t
    assert obj(step(t, "Create"), "Hero#1")["state"] == "transient"
    added = obj(step(t, "Add"), "Hero#1")
    assert (added["state"], added["identity"], added["values"]["id"]) == ("pending", None, None)
    assert step(t, "Add")["session"]["new"] == ["Hero#1"]
    flushed = obj(step(t, "Flush"), "Hero#1")
    assert (flushed["state"], flushed["identity"], flushed["values"]["id"]) == ("persistent", [1], 1)
    committed = obj(step(t, "Commit"), "Hero#1")
    # Relationships expire too: the next access to hero.team would load it.
    assert committed["values"] == {} and set(committed["expired"]) == {"id", "name", "age", "team_id", "team"}
    access = step(t, "Access")
    assert [e["cause"] for e in sql(access)] == ["load expired Hero#1"]
    assert obj(access, "Hero#1")["expired"] == [] and obj(access, "Hero#1")["values"]["name"] == "Deadpond"
    partial = obj(step(t, "Partial expiry"), "Hero#1")
    assert partial["expired"] == ["age"] and "age" not in partial["values"] and partial["values"]["name"]
    assert step(t, "Dirty")["session"]["dirty"] == ["Hero#1"]
    assert obj(step(t, "Delete"), "Hero#1")["state"] == "deleted"
    assert obj(step(t, "Commit delete"), "Hero#1")["state"] == "detached"
    close = step(t, "Close")
    assert obj(close, "Hero#2")["state"] == "detached"
    assert {"kind": "transition", "object": "Hero#2", "from": "persistent", "to": "detached"} in [
        {k: v for k, v in e.items() if k != "line"} for e in close["events"]
    ]


def test_committed_rows_are_seen_by_another_connection_only_after_commit(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Flush\nsession = Session(engine)\nsession.add(Hero(name='A'))\nsession.flush()",
        "Commit\nsession.commit()",
    )
    t = trace(path)
    assert step(t, "Flush")["tables"]["hero"]["rows"] == []
    assert step(t, "Commit")["tables"]["hero"]["rows"] == [[1, "A", None, None]]
    assert step(t, "Commit")["tables"]["hero"]["columns"] == ["id", "name", "age", "team_id"]


def test_causes_of_statements(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Seed\nsession = Session(engine)\nteam = Team(name='T')\nsession.add(Hero(name='A', team=team))\n"
        "session.commit()",
        "Autoflush\nsession.add(Hero(name='B'))\nfound = session.exec(select(Hero)).all()",
        "Lazy\nother = Session(engine)\nfirst = other.get(Hero, 1)\nteam_of_first = first.team",
        "Refresh\nother.refresh(first)",
        "Expired\nother.expire(first)\nname = first.name",
    )
    t = trace(path)
    assert [e["cause"] for e in sql(t["steps"][0])] == ["ddl"] * len(sql(t["steps"][0]))
    assert [e["cause"] for e in sql(step(t, "Seed"))] == ["flush", "flush"]
    assert [e["cause"] for e in sql(step(t, "Autoflush"))] == ["autoflush", "query"]
    assert [e["cause"] for e in sql(step(t, "Lazy"))] == ["get", "lazy load Hero.team"]
    first = next(o["label"] for o in step(t, "Refresh")["objects"] if "first" in o["names"])
    assert [e["cause"] for e in sql(step(t, "Refresh"))] == [f"refresh {first}"]
    assert [e["cause"] for e in sql(step(t, "Expired"))] == [f"load expired {first}"]
    assert all(e["line"] is not None for s in t["steps"] for e in s["events"])


def _seeded(tmp_path: Path, *cells: str) -> dict[str, Any]:
    """The trace of a lesson that first commits Hero 'A' of Team 'T', then runs ``cells``."""
    seed = (
        "Seed\nsession = Session(engine)\nteam = Team(name='T')\nhero = Hero(name='A', team=team)\n"
        "session.add(hero)\nsession.commit()"
    )
    return trace(lesson(tmp_path, seed, *cells))


def test_session_get_is_a_get(tmp_path: Path) -> None:
    t = _seeded(tmp_path, "Get\nother = Session(engine)\nfound = other.get(Hero, 1)")
    assert [e["cause"] for e in sql(step(t, "Get"))] == ["get"]


def test_merge_stays_a_merge_although_it_looks_the_object_up_with_get(tmp_path: Path) -> None:
    t = _seeded(tmp_path, "Merge\nother = Session(engine)\ncopy = other.merge(Hero(id=1, name='B'))")
    assert [e["cause"] for e in sql(step(t, "Merge"))] == ["merge"]


def test_textual_and_core_statements_are_executes_and_orm_selects_queries(tmp_path: Path) -> None:
    t = _seeded(
        tmp_path,
        "Text\nfrom sqlalchemy import text\nsession.execute(text('SELECT name FROM hero')).all()",
        "Core\nsession.execute(Hero.__table__.select()).all()",
        "Driver\nwith engine.connect() as connection:\n    connection.exec_driver_sql('SELECT 1').all()",
        "Orm\nsession.exec(select(Hero.name)).all()",
    )
    assert [e["cause"] for e in sql(step(t, "Text"))] == ["execute"]
    assert [e["cause"] for e in sql(step(t, "Core"))] == ["execute"]
    assert [e["cause"] for e in sql(step(t, "Driver"))] == ["execute"]
    assert [e["cause"] for e in sql(step(t, "Orm"))] == ["query"]


def test_orm_enabled_update_delete_and_insert_are_bulk(tmp_path: Path) -> None:
    t = _seeded(
        tmp_path,
        "Update\nfrom sqlalchemy import delete, insert, update\n"
        "session.exec(update(Hero).where(Hero.name == 'A').values(age=30))",
        "Insert\nsession.execute(insert(Hero), [{'name': 'B'}, {'name': 'C'}])",
        "Delete\nsession.exec(delete(Hero).where(Hero.name == 'C'))",
    )
    assert [e["cause"] for e in sql(step(t, "Update"))] == ["bulk update"]
    assert [e["cause"] for e in sql(step(t, "Insert"))] == ["bulk insert"]
    assert [e["cause"] for e in sql(step(t, "Delete"))] == ["bulk delete"]


def test_sql_sent_from_an_event_listener_says_so(tmp_path: Path) -> None:
    listener = (
        "Listener\nfrom sqlalchemy import event, text\n\n"
        "@event.listens_for(Hero, 'after_insert')\n"
        "def count_heroes(mapper, connection, target):\n"
        "    connection.execute(text('SELECT count(*) FROM hero')).scalar()\n\n"
        "session.add(Hero(name='B'))\nsession.flush()"
    )
    t = _seeded(tmp_path, listener)
    causes = [(e["statement"].split()[0], e["cause"]) for e in sql(step(t, "Listener"))]
    assert causes == [("INSERT", "flush"), ("SELECT", "event listener")]


def test_an_expired_object_reached_through_a_relationship_says_through_which(tmp_path: Path) -> None:
    t = _seeded(
        tmp_path,
        "Key\nteam_id = hero.team_id",
        "Through\nthrough = hero.team",
    )
    team = obj(step(t, "Seed"), "Team#1")["label"]
    # The hero's own foreign key is a plain reload; the team, expired in the identity map, is
    # reloaded by the lazy load of Hero.team.
    assert [e["cause"] for e in sql(step(t, "Key"))] == ["load expired Hero#1"]
    assert [e["cause"] for e in sql(step(t, "Through"))] == [f"load expired {team} via Hero.team"]


def test_a_refresh_lists_only_the_attributes_the_row_loaded(tmp_path: Path) -> None:
    t = _seeded(tmp_path, "Reload\nname = hero.name", "Query again\nagain = session.exec(select(Hero)).all()")
    refreshes = [e for e in step(t, "Reload")["events"] if e["kind"] == "refresh"]
    # SQLAlchemy was asked for the expired relationship too, but a row fills only columns.
    assert [(e["object"], e["attributes"]) for e in refreshes] == [
        ("Hero#1", ["age", "id", "name", "team_id"])
    ]
    hero = obj(step(t, "Reload"), "Hero#1")
    assert "team" not in hero["values"] and "team" in hero["expired"] + hero["unloaded"]
    # A query that meets the loaded hero again fills nothing: no refresh event.
    assert [e["kind"] for e in step(t, "Query again")["events"]] == ["sql"]


def test_events_are_attributed_to_the_line_inside_a_function(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Define\ndef save(session, name):\n    session.add(Hero(name=name))\n    session.commit()",
        "Call\nsave(Session(engine), 'A')",
    )
    t = trace(path)
    text = path.read_text().splitlines()
    commit_line = next(i for i, line in enumerate(text, 1) if line.strip() == "session.commit()")
    events = step(t, "Call")["events"]
    assert {e["line"] for e in events if e["kind"] in ("sql", "commit")} == {commit_line}


def test_snapshots_have_no_observer_effect(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Seed\nsession = Session(engine)\nhero = Hero(name='A', team=Team(name='T'))\nsession.add(hero)\n"
        "session.commit()",
        "Look\nhero_id = hero.id\nsession.expire(hero, ['name'])",
        "Use\nprint(hero.name, hero.team.name)",
    )
    with_snapshots = trace(path)
    without = trace(path, TraceOptions(snapshots=False))
    events = [s["events"] for s in json.loads(masked(with_snapshots))["steps"]]
    events_without = [s["events"] for s in json.loads(masked(without))["steps"]]
    assert events == events_without
    # The snapshot after "Look" saw the object expired and did not load it: the load happens in "Use".
    assert obj(step(with_snapshots, "Look"), "Hero#1")["expired"] == ["name"]
    assert [e["cause"] for e in sql(step(with_snapshots, "Use"))][0] == "load expired Hero#1"


def test_snapshot_of_an_expired_object_emits_no_sql_and_changes_nothing() -> None:
    from sqlalchemy import event, inspect
    from sqlmodel import Field, Session, SQLModel, create_engine

    from sqlecho._record.objects import ObjectRegistry
    from sqlecho._trace.isolation import reset_sqlmodel

    reset_sqlmodel()
    try:

        class Pet(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            name: str

        engine = create_engine("sqlite://")
        SQLModel.metadata.create_all(engine)
        statements: list[str] = []
        with Session(engine) as session:
            pet = Pet(name="Rex")
            session.add(pet)
            session.commit()
            event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
            before = (dict(pet.__dict__), set(inspect(pet).expired_attributes))
            snapshot = ObjectRegistry().snapshot(pet, "Pet#1", ["pet"])
            after = (dict(pet.__dict__), set(inspect(pet).expired_attributes))
        assert statements == []
        assert before == after
        assert snapshot["expired"] == ["id", "name"] and snapshot["values"] == {}
    finally:
        reset_sqlmodel()


def test_same_program_same_json(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Many\nsession = Session(engine)\nsession.add_all([Hero(name=str(n), team=Team(name=str(n))) for n in range(8)])\n"
        "session.commit()",
        "Delete\nfor hero in session.exec(select(Hero)).all():\n    session.delete(hero)\nsession.commit()",
    )
    assert masked(trace(path)) == masked(trace(path))


def test_what_if_switches(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Commit\nsession = Session(engine)\nhero = Hero(name='A')\nsession.add(hero)\nsession.commit()",
        "Access\nprint(hero.name)",
        "Autoflush\nsession.add(Hero(name='B'))\ncount = len(session.exec(select(Hero)).all())\nprint(count)",
    )
    plain = trace(path)
    assert len(sql(step(plain, "Access"))) == 1
    no_expire = trace(path, TraceOptions(expire_on_commit=False))
    assert sql(step(no_expire, "Access")) == []
    assert not [e for e in step(no_expire, "Commit")["events"] if e["kind"] == "expire"]
    no_autoflush = trace(path, TraceOptions(autoflush=False))
    assert [e["cause"] for e in sql(step(no_autoflush, "Autoflush"))] == ["query"]
    assert [e["text"] for e in step(no_autoflush, "Autoflush")["events"] if e["kind"] == "output"] == ["1\n"]
    assert no_autoflush["options"] == {"expire_on_commit": None, "autoflush": False}


def test_expected_errors_continue_and_unexpected_errors_stop(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        # %% One
        x = 1
        # %% Boom tags=["raises-exception"]
        raise ValueError("on purpose")
        # %% Two
        y = 1 / 0
        # %% Never
        print("unreachable")
        """,
    )
    t = trace(path)
    assert [s["title"] for s in t["steps"]] == ["One", "Boom", "Two"]
    assert t["steps"][1]["error"] == {
        "type": "ValueError",
        "message": "on purpose",
        "line": 4,
        "expected": True,
    }
    assert t["steps"][2]["error"]["type"] == "ZeroDivisionError" and t["steps"][2]["error"]["line"] == 6
    assert t["status"] == "error"


def test_tagged_cell_that_does_not_raise_is_noted(tmp_path: Path) -> None:
    t = trace(write(tmp_path, '# %% Fine tags=["raises-exception"]\nx = 1\n'))
    assert t["steps"][0]["notes"] == ["Tagged raises-exception, but no error was raised."]


@pytest.mark.parametrize(
    ("code", "status"), [("sys.exit(0)", "ok"), ("sys.exit()", "ok"), ("sys.exit(3)", "error")]
)
def test_sys_exit(tmp_path: Path, code: str, status: str) -> None:
    t = trace(write(tmp_path, f"import sys\nprint('hi')\n{code}\nprint('after')\n"))
    assert t["status"] == status
    outputs = [e["text"] for s in t["steps"] for e in s["events"] if e["kind"] == "output"]
    assert outputs == ["hi\n"]


def test_syntax_error_is_reported_on_its_line(tmp_path: Path) -> None:
    t = trace(write(tmp_path, "x = 1\ndef broken(:\n"))
    assert t["status"] == "error"
    assert t["steps"][-1]["error"]["type"] == "SyntaxError" and t["steps"][-1]["error"]["line"] == 2


def test_plain_script_is_stepped_line_by_line_inside_functions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        def double(n):
            result = n * 2
            return result


        def main():
            total = 0
            for n in range(2):
                total += double(n)
            print(total)


        if __name__ == "__main__":
            main()
        """,
    )
    t = trace(path)
    assert t["mode"] == "lines" and t["status"] == "ok"
    lines = [s["lines"][0] for s in t["steps"]]
    assert lines == [1, 6, 13, 14, 7, 8, 9, 2, 3, 8, 9, 2, 3, 8, 10]
    assert all(s["title"] is None and s["lines"][0] == s["lines"][1] for s in t["steps"])
    assert [e["text"] for e in t["steps"][-1]["events"] if e["kind"] == "output"] == ["2\n"]


def test_step_cap_is_said_in_the_transcript(tmp_path: Path) -> None:
    path = write(tmp_path, "total = 0\nfor n in range(1000):\n    total += n\nprint(total)\n")
    t = trace(path, TraceOptions(max_steps=50))
    assert len(t["steps"]) == 51
    assert t["truncated"] == {"steps": 50}
    assert "stepping stopped after 50 steps" in t["steps"][-1]["title"]
    assert [e["text"] for e in t["steps"][-1]["events"] if e["kind"] == "output"] == ["499500\n"]
    assert t["status"] == "ok"


def test_program_without_database_still_gets_a_transcript(tmp_path: Path) -> None:
    t = trace(write(tmp_path, "# %% Hello\nprint('hello')\n"))
    assert t["status"] == "ok"
    assert t["steps"][0]["events"] == [{"kind": "output", "line": 2, "text": "hello\n"}]
    assert t["steps"][0]["session"] is None and t["steps"][0]["tables"] == {}


def test_echo_does_not_leak_and_output_interleaves_with_sql(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Talk\nprint('before')\nsession = Session(engine)\nsession.add(Hero(name='A'))\nsession.commit()\n"
        "print('after')",
    )
    events = step(trace(path), "Talk")["events"]
    kinds = [e["kind"] for e in events if e["kind"] in ("output", "sql", "begin", "commit")]
    assert kinds == ["output", "begin", "sql", "commit", "output"]
    assert [e["text"] for e in events if e["kind"] == "output"] == ["before\n", "after\n"]


def test_names_follow_variables_and_list_items(tmp_path: Path) -> None:
    path = lesson(tmp_path, "Make\nhero = Hero(name='A')\nsquad = [hero, Hero(name='B')]")
    objects = step(trace(path), "Make")["objects"]
    assert [(o["label"], o["names"]) for o in objects] == [
        ("Hero#1", ["hero", "squad[0]"]),
        ("Hero#2", ["squad[1]"]),
    ]


def test_every_session_is_named_by_its_variable_and_objects_say_which_holds_them(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        """
        Two
        session = Session(engine)
        other = Session(engine)
        hero = Hero(name='A')
        session.add(hero)
        session.commit()
        theirs = other.get(Hero, 1)
        Session(engine).add(Team(name='T'))
        """,
        "Close\nother.close()",
    )
    two = step(trace(path), "Two")
    assert [(n["name"], n["label"], n["new"], n["identity_map"]) for n in two["sessions"]] == [
        ("session", "Session#1", [], ["Hero#1"]),
        ("other", "Session#2", [], ["Hero#2"]),
        ("Session#3", "Session#3", ["Team#1"], []),  # no variable holds it: named by its label
    ]
    assert [(o["label"], o["session"]) for o in two["objects"]] == [
        ("Hero#1", "session"),
        ("Hero#2", "other"),
        ("Team#1", "Session#3"),
    ]
    assert two["session"] == {"new": ["Team#1"], "dirty": [], "deleted": [], "identity_map": []}  # used last
    closed = step(trace(path), "Close")
    assert obj(closed, "Hero#2")["state"] == "detached"
    assert obj(closed, "Hero#2")["session"] is None


def test_variables_show_plain_values_only_without_running_program_code(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        """
        Loop
        class Loud(str):
            def __repr__(self):
                raise AssertionError("looked at")
        total = 0
        for count in range(3):
            total += count
        loud = Loud("x")
        hero = Hero(name="A")
        label, ratio, done, nothing, _hidden = "heroes", 0.5, True, None, 1
        url = "sqlite:////tmp/tmpab12cd34/library.db"
        """,
    )
    variables = step(trace(path), "Loop")["variables"]
    assert variables == {
        "total": "3",
        "count": "2",
        "label": "'heroes'",
        "ratio": "0.5",
        "done": "True",
        "nothing": "None",
        "url": "'sqlite:////tmp/tmp…/library.db'",  # a temporary folder's random name is not shown
    }


def test_relationship_values_are_labels(tmp_path: Path) -> None:
    path = lesson(tmp_path, "Make\nteam = Team(name='T')\nhero = Hero(name='A', team=team)")
    s = step(trace(path), "Make")
    assert obj(s, "Hero#1")["values"]["team"] == "Team#1"
    assert obj(s, "Team#1")["values"]["heroes"] == ["Hero#1"]


def test_same_table_names_in_consecutive_runs(tmp_path: Path) -> None:
    """Both define tables hero and team on SQLModel's shared metadata: the registry is reset."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = lesson(tmp_path / "a", "A\nx = 1")
    second = lesson(tmp_path / "b", "B\ny = 2")
    assert trace(first)["status"] == "ok"
    assert trace(second)["status"] == "ok"


def test_nothing_is_written_beside_the_program(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        from sqlmodel import SQLModel, create_engine, Field

        class Thing(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)

        engine = create_engine("sqlite:///data/things.db")
        SQLModel.metadata.create_all(engine)
        """,
    )
    (tmp_path / "data").mkdir()
    t = trace(path)
    assert t["status"] == "ok"
    assert list((tmp_path / "data").iterdir()) == []
    assert t["steps"][-1]["tables"] == {"thing": {"columns": ["id"], "rows": [], "primary_key": ["id"]}}


def test_a_table_snapshot_names_its_primary_key_columns_in_key_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        from sqlalchemy import create_engine, text

        engine = create_engine("sqlite://")
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE link (note TEXT, genre_id INT, book_id INT, PRIMARY KEY (book_id, genre_id))"))
            connection.execute(text("CREATE TABLE log (day INT, note TEXT)"))
        """,
    )
    tables = trace(path)["steps"][-1]["tables"]
    assert tables["link"]["primary_key"] == ["book_id", "genre_id"]
    assert "primary_key" not in tables["log"]  # no key: the panel matches whole rows


def test_failed_statement_carries_the_driver_error(tmp_path: Path) -> None:
    path = lesson(
        tmp_path,
        "Twice\nsession = Session(engine)\nsession.add(Hero(id=1, name='A'))\nsession.commit()\n"
        "session.add(Hero(id=1, name='B'))\nsession.commit()",
    )
    t = trace(path)
    failed = [e for e in sql(step(t, "Twice")) if "error" in e]
    assert len(failed) == 1 and failed[0]["error"].startswith("IntegrityError: UNIQUE constraint failed")
    assert step(t, "Twice")["error"]["type"] == "IntegrityError"
    assert step(t, "Twice")["error"]["code"] == "gkpj"


def test_long_values_are_cut_in_parameters_and_snapshots(tmp_path: Path) -> None:
    path = lesson(
        tmp_path, "Long\nsession = Session(engine)\nsession.add(Hero(name='x' * 5000))\nsession.commit()"
    )
    s = step(trace(path), "Long")
    parameter = sql(s)[0]["parameters"][0]
    assert parameter.startswith("x" * 500) and parameter.endswith("... (4500 more characters)")
    assert s["tables"]["hero"]["rows"][0][1] == parameter


def test_runs_like_python_file_from_its_folder(tmp_path: Path) -> None:
    """Sibling imports, __file__, __name__ and a database path built from __file__."""
    (tmp_path / "models.py").write_text(
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Pet(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    name: str\n"
    )
    path = write(
        tmp_path,
        """\
        import sys
        from pathlib import Path

        from sqlmodel import Session, SQLModel, create_engine

        from models import Pet

        here = Path(__file__).parent
        engine = create_engine(f"sqlite:///{here / 'pets.db'}")
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(Pet(name="Rex"))
            session.commit()
        print(__name__, Path(sys.argv[0]).name, Path.cwd() == here)
        """,
        name="main.py",
    )
    t = trace(path)
    assert t["status"] == "ok", t["steps"][-1]["error"]
    outputs = [e["text"] for s in t["steps"] for e in s["events"] if e["kind"] == "output"]
    assert outputs == ["__main__ main.py True\n"]
    assert t["steps"][-1]["tables"]["pet"]["rows"] == [[1, "Rex"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.py", "models.py"]
    # A second run imports models.py afresh, against a cleared registry.
    assert trace(path)["status"] == "ok"


def test_async_programs_are_attributed_to_their_lines(tmp_path: Path) -> None:
    """SQLAlchemy's asyncio layer runs the ORM in a greenlet; the awaiting line is found above it."""
    pytest.importorskip("aiosqlite")
    path = write(
        tmp_path,
        """\
        import asyncio

        from sqlalchemy.ext.asyncio import create_async_engine
        from sqlmodel import Field, SQLModel, select
        from sqlmodel.ext.asyncio.session import AsyncSession


        class Hero(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            name: str


        async def main():
            engine = create_async_engine("sqlite+aiosqlite:///heroes.db")
            async with engine.begin() as connection:
                await connection.run_sync(SQLModel.metadata.create_all)
            async with AsyncSession(engine) as session:
                session.add(Hero(name="A"))
                await session.commit()
                print([hero.name for hero in (await session.exec(select(Hero))).all()])
            await engine.dispose()


        asyncio.run(main())
        """,
    )
    t = trace(path)
    assert t["status"] == "ok"
    statements = {e["statement"].split()[0]: e for s in t["steps"] for e in sql(s)}
    assert (statements["INSERT"]["line"], statements["INSERT"]["cause"]) == (19, "flush")
    assert (statements["SELECT"]["line"], statements["SELECT"]["cause"]) == (20, "query")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["program.py"]
    # The sync Session inside is named by the AsyncSession variable that wraps it.
    assert any(named["name"] == "session" for s in t["steps"] for named in s["sessions"])


def test_a_byte_order_mark_is_not_part_of_the_program(tmp_path: Path) -> None:
    path = tmp_path / "bom.py"
    path.write_bytes("\ufeffprint('hi')\n".encode())
    t = trace(path)
    assert t["status"] == "ok"
    assert t["steps"][0]["events"] == [{"kind": "output", "line": 1, "text": "hi\n"}]


def test_a_cell_that_does_not_compile_on_its_own_is_an_error_on_its_step(tmp_path: Path) -> None:
    """The file compiles whole, but a marker inside a string splits the statement in two."""
    t = trace(write(tmp_path, '# %% One\nx = """\n# %% inside a string\n"""\nprint(x)\n'))
    assert t["status"] == "error"
    (step_one,) = t["steps"]
    assert step_one["title"] == "One" and step_one["error"]["type"] == "SyntaxError"
    assert step_one["notes"] == ["This cell does not compile on its own: a # %% marker splits a statement."]


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == text)


def test_rows_fetched_in_chunks_load_on_the_line_that_fetched_them(tmp_path: Path) -> None:
    """The rows of one chunk load together; yield_per spreads the chunks over the program's lines."""
    path = lesson(
        tmp_path,
        "Add\nwith Session(engine) as s:\n    s.add_all([Hero(name=str(i)) for i in range(6)])\n    s.commit()",
        "Per query\nsession = Session(engine)\nresult = session.execute(select(Hero).execution_options(yield_per=2))\n"
        "first = result.fetchmany(2)\nsecond = result.fetchmany(2)\nresult.close()\nsession.close()",
        "Per result\nsession = Session(engine)\nresult = session.exec(select(Hero)).yield_per(3)\n"
        "a = result.fetchmany(3)\nb = result.fetchmany(3)\nsession.close()",
        "All at once\nsession = Session(engine)\nrows = session.exec(select(Hero)).all()\nsession.close()",
    )
    t = trace(path)

    def load_lines(title: str) -> list[int]:
        return [e["line"] for e in step(t, title)["events"] if e["kind"] == "load"]

    first, second = (
        _line_of(path, "first = result.fetchmany(2)"),
        _line_of(path, "second = result.fetchmany(2)"),
    )
    assert load_lines("Per query") == [first, first, second, second]
    a, b = _line_of(path, "a = result.fetchmany(3)"), _line_of(path, "b = result.fetchmany(3)")
    assert load_lines("Per result") == [a, a, a, b, b, b]
    assert load_lines("All at once") == [_line_of(path, "rows = session.exec(select(Hero)).all()")] * 6


def test_each_connection_to_an_in_memory_database_has_its_own(tmp_path: Path) -> None:
    """As with :memory: itself, a second thread of a sqlite:// engine sees an empty database."""
    path = lesson(
        tmp_path,
        "Threads\nimport threading\nfound = []\n"
        "def look():\n    with engine.connect() as c:\n"
        '        found.append(c.exec_driver_sql("SELECT name FROM sqlite_master").all())\n'
        "worker = threading.Thread(target=look)\nworker.start()\nworker.join()\n"
        'with engine.connect() as c:\n    here = c.exec_driver_sql("SELECT name FROM sqlite_master").all()\n'
        "print(len(found[0]), len(here))",
    )
    t = trace(path)
    assert printed(t) == "0 2\n"


def test_the_database_panel_shows_committed_rows_while_a_write_is_open(tmp_path: Path) -> None:
    """The stand-in file of an in-memory database is read without locks, and holds only commits."""
    path = lesson(
        tmp_path,
        "Commit one\nsession = Session(engine)\nsession.add(Hero(name='A'))\nsession.commit()",
        # A one-page cache: a connection that may spill writes its uncommitted pages out at once.
        "Open a write\nsession.connection().exec_driver_sql('PRAGMA cache_size = 1')\n"
        "session.get(Hero, 1).name = 'Z'\nsession.add(Hero(name='B'))\nsession.flush()\n"
        "session.add_all([Hero(name='x' * 4000) for _ in range(500)])\nsession.flush()",
        "Roll back\nsession.rollback()",
    )
    t = trace(path)
    for title in ("Commit one", "Open a write", "Roll back"):
        assert step(t, title)["tables"]["hero"]["rows"] == [[1, "A", None, None]], title


def test_an_in_memory_database_keeps_its_journal_in_memory(tmp_path: Path) -> None:
    """WAL, which :memory: refuses, would hide the commits from the panel: the stand-in refuses it."""
    path = lesson(
        tmp_path,
        "WAL\nwith engine.connect() as c:\n    mode = c.exec_driver_sql('PRAGMA journal_mode=WAL').scalar()\n"
        "    c.exec_driver_sql('PRAGMA journal_mode=wal')\n"
        "with Session(engine) as session:\n    session.add(Hero(name='A'))\n    session.commit()\n"
        "with engine.connect() as c:\n    print(mode, c.exec_driver_sql('PRAGMA journal_mode').scalar())",
    )
    t = trace(path)
    assert printed(t) == "memory memory\n"  # what a plain run prints
    assert step(t, "WAL")["tables"]["hero"]["rows"] == [[1, "A", None, None]]


def test_an_in_memory_database_leaves_the_panel_with_its_connection(tmp_path: Path) -> None:
    """Each NullPool connection to sqlite:// is a new, empty database, gone when it closes."""
    path = write(
        tmp_path,
        """\
        # %% Three databases
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine("sqlite://", poolclass=NullPool)
        for i in range(3):
            with engine.begin() as c:
                c.execute(text("CREATE TABLE t (x INTEGER)"))
                c.execute(text(f"INSERT INTO t VALUES ({i})"))
        # %% One that stays open
        kept = engine.connect()
        kept.execute(text("CREATE TABLE u (x INTEGER)"))
        kept.commit()
        # %% Closed
        kept.close()
        """,
    )
    t = trace(path)
    assert step(t, "Three databases")["tables"] == {}
    assert step(t, "One that stays open")["tables"] == {"u": {"columns": ["x"], "rows": []}}
    assert step(t, "Closed")["tables"] == {}


def test_tracing_keeps_no_object_alive_after_its_session_is_gone(tmp_path: Path) -> None:
    """A modified object that a query loaded into again is freed with its session, as in a plain run."""
    path = lesson(
        tmp_path,
        "Add\nwith Session(engine) as s:\n    s.add(Team(id=1, name='a', heroes=[Hero(name='x'), Hero(name='y')]))\n"
        "    s.commit()",
        "Drop\nimport gc, weakref\nfrom sqlalchemy.orm import joinedload\n"
        "s = Session(engine, autoflush=False)\nteam = s.get(Team, 1)\nteam.name = 'changed'\n"
        "s.exec(select(Team).options(joinedload(Team.heroes))).unique().all()\n"
        "ref = weakref.ref(team)\ndel team, s\ngc.collect()\nprint('alive:', ref() is not None)",
    )
    # In a fresh interpreter, as a sandboxed run has: what earlier in-process runs of this test
    # session left behind (a lesson cut off before its tidy-up) is no part of this run.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; from sqlecho import trace; print(json.dumps(trace(sys.argv[1])))",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert printed(json.loads(done.stdout)) == "alive: False\n"


def test_the_panel_never_shows_what_another_thread_has_not_committed(tmp_path: Path) -> None:
    """Another thread's database may be mid-write when a step ends: it is read with SQLite's locks."""
    path = write(
        tmp_path,
        """\
        # %% A thread writes and waits
        import threading

        from sqlalchemy import create_engine

        engine = create_engine("sqlite://")
        ready, done = threading.Event(), threading.Event()


        def writer():
            with engine.connect() as c:
                c.exec_driver_sql("CREATE TABLE w (x INTEGER, pad TEXT)")
                c.exec_driver_sql("INSERT INTO w SELECT 1, hex(randomblob(200)) FROM "
                                  "(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
                                  "WHERE i < 3000) SELECT i FROM r)")
                c.commit()
                c.exec_driver_sql("PRAGMA cache_size = 1")  # its uncommitted pages reach the file
                c.exec_driver_sql("UPDATE w SET x = 2")
                ready.set()
                done.wait()
                c.rollback()


        worker = threading.Thread(target=writer)
        worker.start()
        ready.wait()
        # %% It lets go
        done.set()
        worker.join()
        """,
    )
    t = trace(path)
    assert t["status"] == "ok"
    for s in t["steps"]:
        for name, table in s["tables"].items():
            if name == "w" or name.endswith(":w"):
                assert {row[0] for row in table["rows"]} == {1}, s["title"]
    assert "(unavailable)" in step(t, "A thread writes and waits")["tables"]


def test_the_program_cannot_make_its_in_memory_database_spill_uncommitted_pages(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        # %% Fill
        from sqlalchemy import create_engine

        engine = create_engine("sqlite://")
        c = engine.connect()
        c.exec_driver_sql("PRAGMA cache_spill = ON")
        c.exec_driver_sql("PRAGMA cache_size = 1")
        c.exec_driver_sql("CREATE TABLE w (x INTEGER, pad TEXT)")
        c.exec_driver_sql("INSERT INTO w SELECT 1, hex(randomblob(200)) FROM "
                          "(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
                          "WHERE i < 3000) SELECT i FROM r)")
        c.commit()
        # %% Update, not committed
        c.exec_driver_sql("UPDATE w SET x = 2")
        # %% Roll back
        c.rollback()
        """,
    )
    t = trace(path)
    assert [{row[0] for row in s["tables"]["w"]["rows"]} for s in t["steps"]] == [{1}, {1}, {1}]


def test_a_database_lives_on_when_the_pool_cannot_close_its_thread_s_connection(tmp_path: Path) -> None:
    """SingletonThreadPool tidies up beyond five threads by closing other threads' connections,
    which sqlite3 refuses: those databases live on, in the program and in the panel."""
    path = write(
        tmp_path,
        """\
        # %% Seven threads
        import threading

        from sqlalchemy import create_engine, text

        engine = create_engine("sqlite://")
        made, checked = threading.Barrier(7), threading.Barrier(7)
        seen = {}


        def work(i):
            c = engine.connect()
            c.execute(text("CREATE TABLE t (x INTEGER)"))
            c.execute(text(f"INSERT INTO t VALUES ({i})"))
            c.commit()
            made.wait()
            seen[i] = c.execute(text("SELECT x FROM t")).scalars().all()
            checked.wait()
            c.close()


        threads = [threading.Thread(target=work, args=(i,)) for i in range(7)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(sorted(seen.items()))
        """,
    )
    t = trace(path)
    assert printed(t) == str([(i, [i]) for i in range(7)]) + "\n"
    tables = t["steps"][-1]["tables"]
    assert sorted(row[0] for table in tables.values() for row in table["rows"]) == list(range(7))


def test_a_limit_exception_marks_its_step_and_the_run_through_its_limit_field(tmp_path: Path) -> None:
    from sqlecho._trace.steps import Closing
    from sqlecho._trace.tracer import trace_source

    program = (
        "from sqlecho._transcript.limits import LimitExceeded\n"
        "class MemoryLimitExceeded(LimitExceeded):\n"
        "    limit = 'memory'\n"
        "try:\n"
        "    raise MemoryLimitExceeded('too much')\n"
        "except Exception:\n"
        "    print('not caught here: it is a BaseException')\n"
    )
    closing = Closing()
    seen: list[bool] = []
    transcript = trace_source(
        program, tmp_path / "p.py", on_step=lambda step: seen.append(bool(closing)), closing=closing
    )
    assert transcript["status"] == "limit"
    error = transcript["steps"][-1]["error"]
    assert (error["type"], error["limit"]) == ("MemoryLimitExceeded", "memory")
    # The runner that handed the tracer ``closing`` sees it true while a step is closed, and
    # false once the run is over.
    assert seen and all(seen) and not closing


def test_an_object_is_shown_while_another_mapper_cannot_be_configured(tmp_path: Path) -> None:
    """Reading an object's attributes for the panel must not fail on a mapper the program left
    broken (a relationship to a class it has not defined yet): no internal error, the columns shown."""
    path = write(
        tmp_path,
        """\
        # %% Two models, one not finished
        from sqlmodel import Field, Relationship, SQLModel


        class Author(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            name: str


        ada = Author(name="Ada")


        class Shelf(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            volumes: list["Volume"] = Relationship()  # noqa: F821 - defined in another module, later
        """,
    )
    t = trace(path)
    assert "internal_errors" not in t
    (ada,) = [obj for obj in t["steps"][0]["objects"] if obj["class"] == "Author"]
    assert ada["values"]["name"] == "Ada"
