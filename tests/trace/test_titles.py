"""A lesson's title, read by one rule from its program text and from its transcript."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlecho._app.lessons import lesson_title as app_title
from sqlecho._render.titles import lesson_title
from sqlecho._trace.titles import source_title
from tests.helpers import LESSONS, ROOT

LESSON_FILES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))


def test_the_app_and_the_site_read_a_title_with_the_same_function() -> None:
    assert app_title is source_title


@pytest.mark.parametrize(
    ("source", "title"),
    [
        # A heading in a code cell's comment is not the lesson's title.
        ("# %% Setup\n# # Not a title\nx = 1\n# %% [markdown]\n# # The engine\n", "The engine"),
        ('# %% [markdown]\n"""\n# Quoted title\n"""\n', "Quoted title"),
    ],
)
def test_a_title_comes_from_a_markdown_cell_only(source: str, title: str) -> None:
    assert source_title(source, "02_lazy_loading") == title


@pytest.mark.parametrize("path", LESSON_FILES, ids=[path.stem for path in LESSON_FILES])
def test_a_lessons_title_is_the_same_before_and_after_its_trace(path: Path) -> None:
    golden = json.loads((ROOT / "tests" / "golden" / f"{path.stem}.json").read_text(encoding="utf-8"))
    assert source_title(path.read_text(encoding="utf-8"), path.stem) == lesson_title(golden, path.stem)
