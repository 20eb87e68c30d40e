"""``%load_ext sqlecho``, ``%%sqlecho`` and ``sqlecho.show`` in a real Jupyter kernel (nbclient)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FIXTURES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
playwright_api = pytest.importorskip("playwright.sync_api")

LESSON = FIXTURES / "lessons" / "01_first_steps.py"
SETUP = """\
from sqlmodel import Field, Session, SQLModel, create_engine


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)"""
CELLS = [
    "%load_ext sqlecho",
    SETUP,
    '%%sqlecho\nhero = Hero(name="Deadpond")\nsession.add(hero)\nsession.commit()',
    "%%sqlecho --lines\nprint(hero.name)\nhero.name",
    "hero.id",
    f"import sqlecho\nsqlecho.show({str(LESSON)!r})",
    "%%sqlecho --bogus\nx = 1",
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> list[list[dict[str, Any]]]:
    """The outputs of each cell of the notebook above, run by a real IPython kernel."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    folder = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return [list(cell["outputs"]) for cell in notebook.cells]


def _html(cell: list[dict[str, Any]]) -> str:
    [html] = [out["data"]["text/html"] for out in cell if out["output_type"] == "display_data"]
    return str(html)


def test_the_cell_magic_shows_the_cell_as_a_step(outputs: list[list[dict[str, Any]]]) -> None:
    assert outputs[0] == [] and outputs[1] == []
    [shown] = outputs[2]
    assert shown["output_type"] == "display_data"
    html, text = shown["data"]["text/html"], shown["data"]["text/plain"]
    assert 'class="sqx-viewer"' in html and "Hero#1" in html and "persistent" in html
    assert "Step <span" in html and "of 1</b>" in html
    # The text/plain fallback is the terminal transcript.
    assert "INSERT INTO hero (name) VALUES (?)" in text and "cause: flush" in text
    assert "~ Hero#1: pending -> persistent  (line 3)" in text
    # The Database panel reads the in-memory database's stand-in, as the CLI's does.
    assert '    hero (id, name): 1 row\n        [1, "Deadpond"]\n' in text


def test_lines_steps_the_cell_and_it_runs_as_if_without_magic(outputs: list[list[dict[str, Any]]]) -> None:
    kinds = [out["output_type"] for out in outputs[3]]
    assert kinds == ["stream", "display_data", "execute_result"]
    assert outputs[3][0]["text"] == "Deadpond\n"  # printed as usual
    assert outputs[3][2]["data"]["text/plain"] == "'Deadpond'"  # the last expression's value
    html = _html(outputs[3])
    assert html.count('class="sqx-step"') == 2
    assert "load expired Hero#1" in html
    assert outputs[4][0]["data"]["text/plain"] == "1"  # variables carry on to later cells


def test_show_displays_a_whole_lesson(outputs: list[list[dict[str, Any]]]) -> None:
    html = _html(outputs[5])
    assert "<h2>First steps with a Session</h2>" in html
    assert html.count('class="sqx-step"') == 8


def test_a_bad_option_is_one_line(outputs: list[list[dict[str, Any]]]) -> None:
    [out] = outputs[6]
    assert (
        out["text"]
        == "sqlecho: unknown option '--bogus'; usage: %%sqlecho [--lines]  (--lines: one step per executed line of the cell)\n"
    )


@pytest.fixture
def browser(chromium: str) -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.browser
def test_a_cell_output_works_in_chromium(
    outputs: list[list[dict[str, Any]]], browser: Any, tmp_path: Path
) -> None:
    """Two outputs on one page, as in a notebook: each viewer steps on its own, keys once focused."""
    page_file = tmp_path / "outputs.html"
    page_file.write_text(
        f"<!DOCTYPE html><meta charset='utf-8'><div id='a'>{_html(outputs[3])}</div><div id='b'>{_html(outputs[5])}</div>",
        encoding="utf-8",
    )
    blocked: list[str] = []
    tab = browser.new_page()
    tab.route(
        lambda url: not url.startswith("file:"),
        lambda route: (blocked.append(route.request.url), route.abort()),
    )
    tab.goto(page_file.as_uri())
    first, second = tab.locator("#a .sqx-viewer"), tab.locator("#b .sqx-viewer")
    expect = playwright_api.expect
    expect(first.locator(".sqx-n")).to_have_text("1")
    first.get_by_role("button", name="Next ›").click()
    expect(first.locator(".sqx-n")).to_have_text("2")
    expect(first.locator('.sqx-step[data-step="2"]')).to_be_visible()
    expect(second.locator(".sqx-n")).to_have_text("1")  # the other viewer did not move
    assert "#" not in tab.url  # a notebook's address is not the viewer's
    tab.keyboard.press("ArrowRight")  # not focused: the notebook keeps its keys
    expect(second.locator(".sqx-n")).to_have_text("1")
    second.focus()
    tab.keyboard.press("ArrowRight")
    expect(second.locator(".sqx-n")).to_have_text("2")
    expect(first.locator(".sqx-n")).to_have_text("2")
    assert blocked == []
