"""Parsing the ``# %%`` percent format (VS Code, PyCharm, Jupytext)."""

from __future__ import annotations

from sqlecho._trace.cells import CellKind, code_steps, has_cells, parse_cells

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
