"""The terminal transcript: objects with what is not loaded, the session, the committed rows; all
bounded by the program, whatever the steps claim."""

from __future__ import annotations

from typing import Any

from sqlecho._render.text import MAX_TABLE_ROWS, format_transcript


def _step(index: int, **fields: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "index": index,
        "title": None,
        "narrative": "",
        "lines": [1, 1],
        "events": [],
        "objects": [],
        "session": None,
        "tables": {},
        "error": None,
    }
    step.update(fields)
    return step


def _text(*steps: dict[str, Any]) -> str:
    return format_transcript({"steps": list(steps), "status": "ok"})


def _hero(**fields: Any) -> dict[str, Any]:
    hero: dict[str, Any] = {
        "label": "Hero#1",
        "class": "Hero",
        "names": ["hero"],
        "state": "persistent",
        "identity": [1],
        "values": {"id": 1, "name": "A"},
        "expired": [],
        "unloaded": [],
    }
    hero.update(fields)
    return hero


def _table(*rows: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "hero": {
            "columns": ["id", "name"],
            "rows": [list(row) for row in rows],
            "primary_key": ["id"],
            **extra,
        }
    }


def _links(*rows: list[Any]) -> dict[str, Any]:
    columns = ["book_id", "genre_id"]
    return {"link": {"columns": columns, "rows": [list(row) for row in rows], "primary_key": columns}}


def test_an_object_line_names_its_expired_and_its_not_loaded_attributes() -> None:
    text = _text(_step(0, objects=[_hero(values={"id": 1}, expired=["name"], unloaded=["team"])]))
    assert "    Hero#1 (hero) [persistent] id=1  expired: name  not loaded: team\n" in text


def test_an_object_with_everything_loaded_says_nothing_more() -> None:
    text = _text(_step(0, objects=[_hero()]))
    assert '    Hero#1 (hero) [persistent] id=1 name="A"\n' in text


def test_the_session_shows_its_collections_and_identity_map() -> None:
    session = {"new": ["Hero#2"], "dirty": ["Hero#1"], "deleted": [], "identity_map": ["Hero#1", "Team#1"]}
    text = _text(_step(0, session=session))
    assert "  session: new [Hero#2]  dirty [Hero#1]  deleted []  identity map [Hero#1, Team#1]\n" in text


def test_no_session_line_before_there_is_a_session() -> None:
    assert "session:" not in _text(_step(0))


def test_committed_rows_appear_only_when_they_changed_with_each_row_marked() -> None:
    text = _text(
        _step(0, tables=_table()),
        _step(1, tables=_table([1, "A"], [2, "B"])),
        _step(2, tables=_table([1, "A"], [2, "B"])),
        _step(3, tables=_table([1, "A2"], [3, "C"])),
    )
    first, second, third, fourth = text.split("── Step ")[1:]
    assert "  committed rows (changed):\n    hero (id, name): no rows\n" in first
    assert '    hero (id, name): 2 rows\n      + [1, "A"]\n      + [2, "B"]\n' in second
    assert "committed rows" not in third
    assert '    hero (id, name): 2 rows\n      ~ [1, "A2"]\n      + [3, "C"]\n      - [2, "B"]\n' in fourth


def test_rows_are_matched_by_their_whole_primary_key() -> None:
    # A link table: removing (1, 2) leaves (1, 1) and (2, 2) as they were, whatever their first column.
    text = _text(_step(0, tables=_links([1, 1], [1, 2], [2, 2])), _step(1, tables=_links([1, 1], [2, 2])))
    assert "    link (book_id, genre_id): 2 rows\n        [1, 1]\n        [2, 2]\n      - [1, 2]\n" in text


def test_rows_of_a_table_without_a_primary_key_are_matched_whole() -> None:
    def log(*rows: list[Any]) -> dict[str, Any]:
        return {"log": {"columns": ["day", "note"], "rows": [list(row) for row in rows]}}

    text = _text(_step(0, tables=log([1, "a"], [1, "a"])), _step(1, tables=log([1, "a"], [1, "b"])))
    assert '    log (day, note): 2 rows\n        [1, "a"]\n      + [1, "b"]\n      - [1, "a"]\n' in text


def test_a_long_table_is_cut_and_counted() -> None:
    rows = [[number, f"hero {number}"] for number in range(1, MAX_TABLE_ROWS + 6)]
    text = _text(_step(0, tables=_table(*rows[:-1], total_rows=len(rows))))
    assert f"    hero (id, name): {len(rows)} rows\n" in text
    assert f'[{MAX_TABLE_ROWS}, "hero {MAX_TABLE_ROWS}"]' in text
    assert f"[{MAX_TABLE_ROWS + 1}, " not in text
    assert "        ... 5 more\n" in text


def test_a_dropped_table_is_said_to_be_gone() -> None:
    text = _text(_step(0, tables=_table([1, "A"])), _step(1, tables={}))
    assert "  committed rows (changed):\n    hero: gone\n" in text.split("── Step ")[2]


def test_code_lines_per_step_are_capped_and_the_rest_counted() -> None:
    source = "\n".join(f"x{number} = {number}" for number in range(1, 20_001))
    steps = [_step(index, lines=[1, 20_000]) for index in range(50)]
    text = format_transcript({"steps": steps, "status": "ok"}, source)
    assert text.count("| ... 19940 more lines") == 50
    assert len(text.splitlines()) < 50 * 70
    assert "  60 | x60 = 60" in text and "  61 | x61 = 61" not in text


def test_a_short_step_shows_all_its_lines() -> None:
    text = format_transcript({"steps": [_step(0, lines=[2, 3])], "status": "ok"}, "a = 1\nb = 2\nc = 3\n")
    assert "   2 | b = 2\n   3 | c = 3" in text and "more lines" not in text


def test_a_tampered_transcript_says_so_after_its_status_and_an_ordinary_one_does_not() -> None:
    tampered = {
        "steps": [_step(0)],
        "status": "ok",
        "tampered": {"reason": "imported sqlecho._sandbox.worker"},
    }
    last = format_transcript(tampered).splitlines()[-2:]
    assert last == [
        "status: ok",
        "TAMPERED: the program reached into the tracer (imported sqlecho._sandbox.worker), so this "
        "transcript may say what the program wanted rather than what happened.",
    ]
    assert "TAMPERED" not in _text(_step(0))
