"""A cell title written to break out of the page's embedded data (``<!--<script>``): the exported
page and the notebook's viewer still show every step and still step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from sqlecho._notebook.viewer import viewer_bundle
from sqlecho._render.export import step_viewer
from sqlecho._trace.tracer import trace_source
from tests.browsing import open_page
from tests.render.test_export import in_process

HOSTILE = "<!--<script>"
PROGRAM = f"""\
# %% First {HOSTILE}
x = 1

# %% Second </script><script>alert(1)</script>
y = 2

# %% Third
z = 3
"""
_DATA = re.compile(r'<script type="application/json" class="sqx-data">(.*?)</script>', re.DOTALL)


def test_the_embedded_data_holds_no_markup_and_reads_back_the_titles(tmp_path: Path) -> None:
    transcript = trace_source(PROGRAM, tmp_path / "p.py")
    html = step_viewer(transcript, PROGRAM)
    (data,) = _DATA.findall(html)
    assert "<" not in data and ">" not in data
    assert json.loads(data)["titles"][:2] == [
        "First <!--<script>",
        "Second </script><script>alert(1)</script>",
    ]


@pytest.mark.browser
def test_the_exported_page_and_the_notebook_viewer_still_step(tmp_path: Path, browser: Any) -> None:
    program = tmp_path / "hostile.py"
    program.write_text(PROGRAM)
    site = tmp_path / "site"
    assert main(["export", str(program), "-o", str(site)], runner=in_process) == 0
    bundle = viewer_bundle(trace_source(PROGRAM, program), PROGRAM)
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body>{bundle['text/html']}</body></html>")
    errors: list[str] = []
    for page_file in (site / "hostile.html", notebook):
        page = open_page(browser, page_file.as_uri())
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        assert page.locator(".sqx-step").count() == 3
        page.get_by_role("button", name="Next ›").click()
        assert page.locator(".sqx-n").inner_text() == "2"
        assert "Second </script>" in page.locator(".sqx-title").inner_text()
        assert page.locator(".sqx-step:visible").count() == 1
        assert errors == []
        page.context.close()


@pytest.mark.parametrize(
    "stem", ["javascript:alert(1)", "JaVaScRiPt:alert(1)//", 'a" onclick="alert(1)', "data:text/html,x"]
)
def test_a_lesson_file_name_in_the_index_is_a_link_to_its_page_never_a_script(stem: str) -> None:
    from urllib.parse import unquote

    from sqlecho._render.export import index_page

    html = index_page([(stem, "A lesson", 1)])
    href = re.search(r'<a href="([^"]*)">A lesson</a>', html)
    assert href is not None
    # No scheme: a relative address, which the browser resolves to the page written for the file.
    assert ":" not in href[1] and '"' not in href[1]
    assert unquote(href[1]) == f"{stem}.html"
