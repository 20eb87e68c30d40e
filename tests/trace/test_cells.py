"""Parsing the ``# %%`` percent format (VS Code, PyCharm, Jupytext)."""

from __future__ import annotations

from pathlib import Path

from sqlecho import trace
from sqlecho._trace.cells import CellKind, code_steps, has_cells, parse_cells, step_cells

SOURCE = '''\
import os

# %% [markdown]
# # The title
# Some *narrative*.

# %% Add the hero tags=["raises-exception"]
x = 1

y = 2

# %% md title [markdown] key="value"
"""Quoted narrative."""

# %%
z = 3
'''


def test_cells_kinds_titles_tags_and_lines() -> None:
    cells = parse_cells(SOURCE)
    assert [(c.kind, c.title, c.tags, c.first_line, c.last_line) for c in cells] == [
        (CellKind.CODE, None, (), 1, 1),
        (CellKind.MARKDOWN, None, (), 4, 5),
        (CellKind.CODE, "Add the hero", ("raises-exception",), 8, 10),
        (CellKind.MARKDOWN, "md title", (), 13, 13),
        (CellKind.CODE, None, (), 16, 16),
    ]
    assert cells[1].text == "# The title\nSome *narrative*."
    assert cells[3].text == "Quoted narrative."
    assert cells[2].expects_error and not cells[4].expects_error


def test_cell_source_compiles_at_the_file_line_numbers() -> None:
    cell = parse_cells(SOURCE)[2]
    code = compile(cell.source, "lesson.py", "exec")
    assert code.co_firstlineno == 1
    assert {line for _, _, line in code.co_lines() if line} == {8, 10}
    assert cell.source.splitlines()[7] == "x = 1"


def test_files_without_markers_are_not_lessons() -> None:
    assert not has_cells("x = 1\n# %%not a marker\n")
    assert has_cells("x = 1\n# %%\ny = 2\n")
    assert has_cells("#%% compact marker\n")


def test_titles_keep_python_keywords_and_drop_jupytext_metadata() -> None:
    source = (
        "# %% Keep values (expire_on_commit=False)\nx = 1\n"
        '# %% Slide title slideshow={"slide_type": "slide"} active="py" tags=["raises-exception"]\ny = 2\n'
    )
    cells = parse_cells(source)
    assert [(c.title, c.tags) for c in cells] == [
        ("Keep values (expire_on_commit=False)", ()),
        ("Slide title", ("raises-exception",)),
    ]


def test_code_steps_skip_comment_only_cells_and_carry_their_narrative() -> None:
    source = "# %% [markdown]\n# First.\n\n# %% Only a comment\n# nothing to run\n\n# %% Run\nx = 1\n"
    assert [(cell.title, narrative) for cell, narrative in code_steps(source)] == [("Run", "First.")]


# -- "after" cells and exercises ------------------------------------------------------------------

_EXERCISES = """\
# %% [markdown]
# Before the first step.

# %% [markdown] tags=["after"]
# An after cell with no step before it is narrative.

# %% Setup
x = 1

# %% [markdown] tags=["after"]
# Why x is 1.

# %% [markdown] tags=["after"]
# And more.

# %% [markdown]
# The question.

# %% Count tags=["exercise"] check="select <= 2; prints 'a; b'" hint="Use one query."
y = 2

# %% Plain
z = 3
"""


def test_after_cells_belong_to_the_step_before_them() -> None:
    steps = step_cells(_EXERCISES)
    assert [(step.cell.title, step.narrative, step.after) for step in steps] == [
        (
            "Setup",
            "Before the first step.\n\nAn after cell with no step before it is narrative.",
            "Why x is 1.\n\nAnd more.",
        ),
        ("Count", "The question.", ""),
        ("Plain", "", ""),
    ]
    assert [(cell, narrative) for cell, narrative in code_steps(_EXERCISES)] == [
        (step.cell, step.narrative) for step in steps
    ]


def test_exercise_cells_carry_their_check_and_hint() -> None:
    setup, count, plain = (step.cell for step in step_cells(_EXERCISES))
    assert count.title == "Count" and count.tags == ("exercise",)
    assert count.exercise == {"check": "select <= 2; prints 'a; b'", "hint": "Use one query.", "task": ""}
    assert count.marker_line == 19
    assert setup.exercise is None and plain.exercise is None
    bare = parse_cells('# %% Try tags=["exercise"]\nx = 1\n')[0]
    assert bare.exercise == {"check": "", "hint": "", "task": ""}


def test_the_transcript_carries_after_and_exercise_only_where_present(tmp_path: Path) -> None:
    path = tmp_path / "lesson.py"
    path.write_text(_EXERCISES, encoding="utf-8")
    steps = trace(path)["steps"]
    assert steps[0]["after"] == "Why x is 1.\n\nAnd more." and "exercise" not in steps[0]
    assert steps[1]["exercise"] == {
        "check": "select <= 2; prints 'a; b'",
        "hint": "Use one query.",
        "task": "",
    }
    assert "after" not in steps[1] and "after" not in steps[2] and "exercise" not in steps[2]
