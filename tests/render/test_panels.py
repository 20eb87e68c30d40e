"""Object cards, the Session panel and the committed tables, with what changed since the step before."""

from __future__ import annotations

import re
from typing import Any

from sqlecho._render.panels import (
    MAX_OBJECTS_SHOWN,
    STATES,
    render_objects,
    render_session,
    render_tables,
    render_variables,
    state_badge,
)
from sqlecho._transcript.derive import attribute_order


def _obj(
    label: str, state: str, values: dict[str, Any], expired: list[str] = (), **extra: Any
) -> dict[str, Any]:  # type: ignore[assignment]
    obj = {
        "label": label,
        "class": label.split("#")[0],
        "names": [label.lower().replace("#", "_")],
        "state": state,
    }
    obj.update({"identity": None, "values": values, "expired": list(expired), "unloaded": []})
    obj.update(extra)
    return obj


def _step(objects: list[dict[str, Any]] = (), session: Any = None, tables: Any = None) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "lines": [1, 1],
        "events": [],
        "objects": list(objects),
        "session": session,
        "tables": tables or {},
    }


def _cards(html: str) -> dict[str, str]:
    """Each card's HTML by the object label it shows."""
    parts = re.split(r'(?=<div class="sqe-card )', html)
    return {
        re.search(r'class="sqe-label">([^<]+)<', part)[1]: part for part in parts if "sqe-card-head" in part
    }  # type: ignore[index]


def test_every_state_badge_shows_a_shape_and_its_word() -> None:
    shapes = set()
    for state, (shape, meaning) in STATES.items():
        badge = state_badge(state)
        assert f'class="sqe-badge sqe-st-{state}"' in badge
        assert badge.endswith(f'<span aria-hidden="true">{shape}</span> {state}</span>')
        assert meaning.startswith(state)
        shapes.add(shape)
    assert len(shapes) == len(STATES)  # told apart without colour


def test_a_card_shows_label_names_state_values_expired_and_unloaded() -> None:
    hero = _obj(
        "Hero#1", "persistent", {"id": 1, "name": "Deadpond", "team": "Team#1"}, ["age"], unloaded=["items"]
    )
    team = _obj("Team#1", "persistent", {"id": 1})
    html = render_objects(_step([hero, team]), None, attribute_order([_step([hero, team])]))
    card = _cards(html)["Hero#1"]
    assert state_badge("persistent") in card
    assert '<span title="variables that refer to it">hero_1</span>' in card
    assert "<tr><th>name</th><td>&#x27;Deadpond&#x27;</td></tr>" in re.sub(r' class=""', "", card)
    assert '<span class="sqe-ref">→ Team#1</span>' in card  # a reference to another object
    assert '<th>expired</th><td>age <span class="sqe-vnote">next access loads</span>' in card
    assert '<th>not loaded</th><td>items <span class="sqe-vnote">loads on first access</span>' in card
    assert "sqe-changed" not in html  # the first step has nothing to compare with


def test_changes_since_the_previous_step_are_marked_with_words() -> None:
    before = _step(
        [
            _obj("Hero#1", "pending", {"id": None, "name": "Rusty", "age": 48}),
            _obj("Hero#2", "persistent", {"id": 2, "name": "Tarantula"}),
            _obj("Hero#3", "persistent", {}, ["id", "name"]),
        ]
    )
    after = _step(
        [
            _obj("Hero#1", "persistent", {"id": 1, "name": "Rusty", "age": 49}),
            _obj("Hero#2", "persistent", {"id": 2}, ["name"]),
            _obj("Hero#3", "persistent", {"id": 3, "name": "Dormammu"}),
            _obj("Hero#4", "transient", {"name": "New"}),
        ]
    )
    cards = _cards(render_objects(after, before))
    assert '<span class="sqe-tag">was pending</span>' in cards["Hero#1"]
    assert (
        '<tr class="sqe-v-changed"><th>id</th><td>1 <span class="sqe-vnote">was None</span>'
        in cards["Hero#1"]
    )
    assert (
        '<tr class="sqe-v-changed"><th>age</th><td>49 <span class="sqe-vnote">was 48</span>'
        in cards["Hero#1"]
    )
    assert "<th>name</th><td>&#x27;Rusty&#x27;</td>" in cards["Hero#1"]  # unchanged: no mark
    assert '<tr class="sqe-v-expired sqe-v-new-expired">' in cards["Hero#2"]
    assert (
        '<span class="sqe-new-expired">name</span>' in cards["Hero#2"] and "newly expired" in cards["Hero#2"]
    )
    assert "sqe-changed" not in cards["Hero#2"].split(">")[0]  # same state: the card itself is not outlined
    assert cards["Hero#3"].count("just loaded") == 2
    assert '<span class="sqe-tag sqe-tag-new">first seen</span>' in cards["Hero#4"]


def test_attribute_order_follows_the_mapper_not_the_alphabet() -> None:
    steps = [
        _step([_obj("Book#1", "persistent", {}, ["copies", "id", "title"])]),
        _step([_obj("Book#1", "persistent", {"id": 1, "title": "T", "copies": 1})]),
    ]
    assert attribute_order(steps) == {"Book": ["id", "title", "copies"]}
    html = render_objects(steps[1], steps[0], attribute_order(steps))
    assert re.findall(r"<th>(\w+)</th>", html) == ["id", "title", "copies"]


def test_many_objects_are_summarised() -> None:
    objects = [_obj(f"Hero#{n}", "persistent", {"id": n}) for n in range(MAX_OBJECTS_SHOWN + 3)]
    html = render_objects(_step(objects), None)
    assert html.count('class="sqe-card ') == MAX_OBJECTS_SHOWN and "… and 3 more objects" in html


def test_no_objects_and_no_session_say_so() -> None:
    assert "No ORM objects yet." in render_objects(_step(), None)
    assert "No Session yet." in render_session(_step(), None)
    assert "No tables yet." in render_tables(_step(), None)


def test_session_panel_lists_collections_and_marks_new_entries() -> None:
    before = _step(session={"new": ["Hero#1"], "dirty": [], "deleted": [], "identity_map": []})
    after = _step(session={"new": [], "dirty": [], "deleted": [], "identity_map": ["Hero#1", "Hero#2"]})
    html = render_session(after, before)
    rows = dict(re.findall(r"<tr><th>([^<]+)</th><td>(.*?)</td></tr>", html))
    assert list(rows) == ["new", "dirty", "deleted", "identity map"]
    assert rows["new"] == '<span class="sqe-none">none</span>'
    assert (
        rows["identity map"]
        == '<span class="sqe-chip sqe-chip-new">Hero#1</span><span class="sqe-chip sqe-chip-new">Hero#2</span>'
    )
    assert "sqe-chip-new" not in render_session(after, after)


def test_tables_mark_new_changed_and_removed_rows() -> None:
    columns = ["id", "name"]
    key = ["id"]
    before = _step(
        tables={"hero": {"columns": columns, "rows": [[1, "A"], [2, "B"], [3, "C"]], "primary_key": key}}
    )
    after = _step(
        tables={"hero": {"columns": columns, "rows": [[1, "A"], [2, "Bee"], [4, "D"]], "primary_key": key}}
    )
    html = render_tables(after, before)
    rows = re.findall(r"<tr(?: class=\"([^\"]*)\")?>(.*?)</tr>", html.split("<tbody>")[1])
    assert [(cls, re.sub(r"<[^>]+>", "|", body).strip("|")) for cls, body in rows] == [
        ("", "1||&#x27;A&#x27;"),
        ("sqe-row-changed", "2||&#x27;Bee&#x27;||changed"),
        ("sqe-row-new", "4||&#x27;D&#x27;||new"),
        ("sqe-row-gone", "3||&#x27;C&#x27;||removed"),
    ]
    unchanged = render_tables(after, after)
    assert "sqe-row-" not in unchanged and "<th></th>" not in unchanged  # no "what changed" column


def _marked_rows(html: str) -> list[tuple[str, str]]:
    rows = re.findall(r"<tr(?: class=\"([^\"]*)\")?>(.*?)</tr>", html.split("<tbody>")[1])
    return [(cls, re.sub(r"<[^>]+>", "|", body).strip("|")) for cls, body in rows]


def test_a_link_table_row_is_matched_by_its_whole_primary_key() -> None:
    columns = ["book_id", "genre_id"]
    before = _step(
        tables={"link": {"columns": columns, "rows": [[1, 1], [1, 2], [2, 2]], "primary_key": columns}}
    )
    after = _step(tables={"link": {"columns": columns, "rows": [[1, 1], [2, 2]], "primary_key": columns}})
    assert _marked_rows(render_tables(after, before)) == [
        ("", "1||1"),
        ("", "2||2"),
        ("sqe-row-gone", "1||2||removed"),
    ]


def test_rows_of_a_table_without_a_primary_key_are_matched_whole() -> None:
    columns = ["day", "note"]
    before = _step(tables={"log": {"columns": columns, "rows": [[1, "a"], [1, "a"]]}})
    after = _step(tables={"log": {"columns": columns, "rows": [[1, "a"], [1, "b"]]}})
    assert _marked_rows(render_tables(after, before)) == [
        ("", "1||&#x27;a&#x27;"),
        ("sqe-row-new", "1||&#x27;b&#x27;||new"),
        ("sqe-row-gone", "1||&#x27;a&#x27;||removed"),
    ]


def test_a_table_appearing_or_empty() -> None:
    after = _step(
        tables={"team": {"columns": ["id"], "rows": [[1]]}, "hero": {"columns": ["id"], "rows": []}}
    )
    html = render_tables(after, _step())
    assert '<tr class="sqe-row-new"><td>1</td><td class="sqe-rowtag">new</td></tr>' in html
    assert '<td colspan="1" class="sqe-none">no committed rows</td>' in html


def test_a_detached_card_says_that_access_raises_and_why() -> None:
    detached = _obj("Book#1", "detached", {"id": 1}, ["title"], unloaded=["author"])
    card = render_objects(_step([detached]), None)
    assert "next access loads" not in card and "loads on first access" not in card
    assert "access raises DetachedInstanceError: there is no session to load them from" in card
    assert "access raises DetachedInstanceError: a lazy load needs a session" in card
    persistent = render_objects(_step([_obj("Book#1", "persistent", {"id": 1}, ["title"])]), None)
    assert "next access loads" in persistent and "DetachedInstanceError" not in persistent


def test_pending_and_transient_cards_say_what_access_gives() -> None:
    for state in ("pending", "transient"):
        card = render_objects(_step([_obj("Team#1", state, {"name": "T"}, unloaded=["heroes"])]), None)
        assert "access gives None or an empty collection" in card


def test_a_card_names_the_session_that_holds_it() -> None:
    html = render_objects(_step([_obj("Book#1", "persistent", {}, session="other")]), None)
    assert '<span class="sqe-held" title="the session that holds it">in <b>other</b></span>' in html
    assert "sqe-held" not in render_objects(_step([_obj("Book#1", "detached", {}, session=None)]), None)


def test_changed_objects_come_first_and_unreferenced_ones_fold() -> None:
    old = [_obj(f"Hero#{n}", "persistent", {"id": n}, names=[]) for n in range(1, 4)]
    named = _obj("Hero#4", "persistent", {"id": 4})
    before = _step([*old, named])
    fresh = _obj("Hero#5", "pending", {"name": "new"}, names=["hero"])
    html = render_objects(_step([*old, named, fresh]), before)
    visible, _, folded = html.partition('<details class="sqe-fold">')
    assert list(_cards(visible)) == ["Hero#5", "Hero#4"]  # the new one first, then what a name holds
    assert list(_cards(folded)) == ["Hero#1", "Hero#2", "Hero#3"]
    assert "3 more objects" in folded and "no variable refers to them" in folded
    assert "sqe-fold" not in render_objects(_step([named]), _step([named]))


def test_every_session_gets_a_named_panel() -> None:
    def named(name: str, label: str, identity_map: list[str]) -> dict[str, Any]:
        return {
            "name": name,
            "label": label,
            "new": [],
            "dirty": [],
            "deleted": [],
            "identity_map": identity_map,
        }

    step = _step() | {
        "sessions": [named("session", "Session#1", []), named("Session#2", "Session#2", ["Book#1"])]
    }
    html = render_session(step, None)
    blocks = html.split('<div class="sqe-session-block">')[1:]
    assert len(blocks) == 2
    assert '<span class="sqe-label">session</span> <span class="sqe-note">Session#1</span>' in blocks[0]
    assert '<span class="sqe-label">Session#2</span></div>' in blocks[1]  # its label only once
    assert "Book#1" in blocks[1] and "Book#1" not in blocks[0]
    assert "No Session yet." in render_session(_step() | {"sessions": []}, None)


def test_no_session_after_one_was_closed_is_not_no_session_yet() -> None:
    closed = render_session(_step() | {"sessions": []}, None, had_session=True)
    assert "No open Session: the one before was closed." in closed and "yet" not in closed


def test_variables_line_marks_what_changed() -> None:
    before = _step() | {"variables": {"count": "1", "name": "'A'"}}
    after = _step() | {"variables": {"count": "2", "name": "'A'"}}
    html = render_variables(after, before)
    assert '<span class="sqe-var sqe-var-changed"><b>count</b> = <code>2</code>' in html
    assert '<span class="sqe-var"><b>name</b> = <code>&#x27;A&#x27;</code></span>' in html
    assert render_variables(_step(), None) == ""
    assert "<b>&lt;x&gt;</b>" in render_variables(_step() | {"variables": {"<x>": "1"}}, None)
