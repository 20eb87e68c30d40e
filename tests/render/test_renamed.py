"""Old lesson stems: the table of renamed lessons, and how a link to an old stem is resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlecho._app.lessons import parse_link
from sqlecho._render.renamed import RENAMED, current_stem, moved_page, moved_pages
from sqlecho._site import write_site
from tests.helpers import LESSONS
from tests.render.test_export import in_process

STEMS = sorted(path.stem for path in LESSONS.glob("[0-9][0-9]_*.py"))


def test_every_old_stem_leads_to_a_lesson_that_exists_under_the_same_words() -> None:
    for old, new in RENAMED.items():
        assert old not in STEMS, old  # an old name given to another lesson would hide it
        assert current_stem(old, STEMS) == new
        assert old.split("_", 1)[1] == new.split("_", 1)[1]  # only the number changed
        assert old[:2] != new[:2]


def test_a_stem_that_exists_is_itself_and_an_unknown_one_is_none() -> None:
    assert current_stem("08_execute_exec_scalars", STEMS) == "08_execute_exec_scalars"
    assert current_stem("99_missing", STEMS) is None
    # A folder of one's own lessons may reuse an old name: the file wins over the table.
    assert current_stem("19_stale_data", ["19_stale_data", "22_stale_data"]) == "19_stale_data"
    # An old stem whose lesson is not in the folder leads nowhere.
    assert current_stem("19_stale_data", ["01_first_steps"]) is None


def test_renames_are_followed_through_and_a_cycle_ends() -> None:
    table = {"01_a": "02_a", "02_a": "03_a", "05_x": "06_x", "06_x": "05_x"}
    assert current_stem("01_a", ["03_a"], table) == "03_a"
    assert current_stem("05_x", ["01_a"], table) is None


@pytest.mark.parametrize(
    ("old", "new"),
    [("23_execute_exec_scalars", "08_execute_exec_scalars"), ("19_stale_data", "22_stale_data")],
)
def test_an_old_link_opens_the_new_lesson_at_the_same_step_without_a_complaint(old: str, new: str) -> None:
    request = parse_link({"lesson": old, "step": "4", "predict": "0"}, STEMS)
    assert (request.lesson, request.step, request.problems) == (new, "4", [])
    assert not request.switches.predict


def test_a_wrong_stem_still_says_so() -> None:
    request = parse_link({"lesson": "23_no_such_lesson"}, STEMS)
    assert request.lesson == STEMS[0]
    assert request.problems == [f"There is no lesson called “23_no_such_lesson”; showing {STEMS[0]} instead."]


def test_an_exported_site_keeps_a_page_under_the_old_name_that_forwards(tmp_path: Path) -> None:
    lesson = tmp_path / "08_execute_exec_scalars.py"
    lesson.write_text("# %% [markdown]\n# # Rows or objects\n\n# %% One\nx = 1\n", encoding="utf-8")
    write_site([(lesson, lesson.read_text(encoding="utf-8"))], tmp_path / "site", in_process)
    names = sorted(path.name for path in (tmp_path / "site").iterdir())
    assert names == ["08_execute_exec_scalars.html", "23_execute_exec_scalars.html", "index.html"]
    moved = (tmp_path / "site" / "23_execute_exec_scalars.html").read_text(encoding="utf-8")
    assert moved == moved_page("08_execute_exec_scalars")
    assert 'location.replace("08_execute_exec_scalars.html" + location.hash)' in moved
    assert '<meta http-equiv="refresh" content="0; url=08_execute_exec_scalars.html">' in moved
    assert "23_execute_exec_scalars.html" not in (tmp_path / "site" / "index.html").read_text(
        encoding="utf-8"
    )


def test_moved_pages_are_only_for_lessons_in_the_site() -> None:
    assert list(moved_pages(["08_execute_exec_scalars", "01_a"])) == [
        ("23_execute_exec_scalars", "08_execute_exec_scalars")
    ]
    assert list(moved_pages(["01_a"])) == []
    assert len(list(moved_pages(STEMS))) == len(RENAMED)


def test_a_lesson_knows_the_old_names_its_readers_answers_may_be_kept_under() -> None:
    from sqlecho._render.renamed import former_stems

    renamed = {"a_old": "b_mid", "b_mid": "c_new", "x_other": "y_other"}
    assert former_stems("c_new", renamed) == ["a_old", "b_mid"]  # through every rename
    assert former_stems("y_other", renamed) == ["x_other"]
    assert former_stems("a_old", renamed) == []
    assert former_stems("08_execute_exec_scalars") == ["23_execute_exec_scalars"]
