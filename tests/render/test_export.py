"""The exported pages and the notebook viewer: self-contained HTML from the app's renderers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from sqlecho._render.export import Variant, index_page, step_viewer, viewer_page
from sqlecho._render.markdown import markdown_html
from sqlecho._render.titles import lesson_title
from sqlecho._trace.tracer import TraceOptions, trace_source
from tests.helpers import FIXTURES, LESSONS, ROOT

LESSON = FIXTURES / "lessons" / "01_first_steps.py"


def in_process(source: str, path: Path, options: TraceOptions, name: str, **_: Any) -> dict[str, Any]:
    return trace_source(source, path, options, source_name=name)


@pytest.fixture(scope="module")
def lesson() -> tuple[dict[str, Any], str]:
    source = LESSON.read_text(encoding="utf-8")
    return trace_source(source, LESSON, TraceOptions()), source


# -- markdown -----------------------------------------------------------------------------------


def test_markdown_covers_what_narratives_write() -> None:
    html = markdown_html(
        "# Title\n\nSome **bold**, *italic* and `code <b>` text,\nwrapped.\n\n"
        "- one\n- two\n\n1. first\n\n> quoted\n\n```python\nx = 1\n```"
    )
    assert "<h1>Title</h1>" in html
    assert (
        "<p>Some <strong>bold</strong>, <em>italic</em> and <code>code &lt;b&gt;</code> text, wrapped.</p>"
        in html
    )
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<ol><li>first</li></ol>" in html
    assert "<blockquote><p>quoted</p></blockquote>" in html
    assert '<pre class="sqe-md-code"><code>' in html and "x" in html


def test_markdown_backslash_escapes_show_the_character_outside_code() -> None:
    # The claims' words are written with every punctuation mark escaped (md_literal), as
    # Streamlit's markdown reads them: the exported page must read them the same way.
    html = markdown_html("- 1 INSERT\\, sent by flush\\. \\*not italic\\* \\<b\\> Book\\#2 `a\\*b`")
    assert (
        html == "<ul><li>1 INSERT, sent by flush. *not italic* &lt;b&gt; Book#2 <code>a\\*b</code></li></ul>"
    )


def test_markdown_escapes_html_and_loads_nothing() -> None:
    html = markdown_html(
        "<script>alert(1)</script> ![logo](https://example.com/x.png) [docs](https://docs.sqlalchemy.org) [x](javascript:alert(1))"
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html  # an image would be a request: it becomes a link
    assert '<a href="https://docs.sqlalchemy.org" rel="noopener" target="_blank">docs</a>' in html
    assert "javascript:" not in html


# -- pages -------------------------------------------------------------------------------------


def test_a_page_holds_every_step_and_shows_the_first(lesson: tuple[dict[str, Any], str]) -> None:
    transcript, source = lesson
    page = viewer_page(transcript, source, title="First steps")
    sections = re.findall(r'<section class="sqx-step" data-step="(\d+)"( hidden)?>', page)
    assert [int(n) for n, _h in sections] == list(range(1, len(transcript["steps"]) + 1))
    assert [bool(h) for _n, h in sections] == [False] + [True] * (len(sections) - 1)
    assert page.count("<script>") == 1  # the navigator, inline
    assert "Content-Security-Policy" in page
    assert "Hero#1" in page and "pending" in page  # the app's renderers drew the steps


def test_a_page_names_no_network_address(lesson: tuple[dict[str, Any], str]) -> None:
    transcript, source = lesson
    page = viewer_page(transcript, source, title="First steps")
    assert not re.search(
        r'(?:src|href)="(?!#|index\.html|data:image/png;base64,|https://docs\.sqlalchemy|https://sqlalche\.me)',
        page,
    )
    assert "@import" not in page and "url(" not in page


def test_exercises_and_after_text_are_shown(lesson: tuple[dict[str, Any], str]) -> None:
    transcript, source = lesson
    transcript = {**transcript, "steps": [dict(step) for step in transcript["steps"]]}
    transcript["steps"][1]["exercise"] = {
        "check": "select <= 1; prints 'saved'",
        "hint": "Use `get`.",
        "task": "",
    }
    transcript["steps"][1]["after"] = "So **one** INSERT was enough."
    html = step_viewer(transcript, source)
    assert "select &lt;= 1; prints &#x27;saved&#x27;" in html
    assert "python -m sqlecho check FILE --against LESSON" in html  # the page cannot run the check
    assert "<summary>Hint</summary><p>Use <code>get</code>.</p>" in html
    assert '<div class="sqx-md sqx-after"><p>So <strong>one</strong> INSERT was enough.</p></div>' in html


def test_switches_embed_each_run_compared(lesson: tuple[dict[str, Any], str]) -> None:
    transcript, source = lesson
    other = trace_source(source, LESSON, TraceOptions(expire_on_commit=False))
    html = step_viewer(transcript, source, variants=[Variant("expire_on_commit=False", other)])
    assert '<option value="1">Compare with expire_on_commit=False</option>' in html
    steps = len(transcript["steps"])
    assert html.count('data-run="1" hidden') == steps
    assert "With expire_on_commit=False" in html


def test_titles_come_from_the_narrative_else_the_stem(lesson: tuple[dict[str, Any], str]) -> None:
    transcript, _source = lesson
    assert lesson_title(transcript, "01_first_steps") == "First steps with a Session"
    assert lesson_title({"steps": []}, "04_expire_on_commit") == "Expire on commit"


def test_the_index_links_every_lesson() -> None:
    html = index_page([("01_a", "A <b>", 3), ("02_b", "B", 1)])
    assert '<a href="01_a.html">A &lt;b&gt;</a> <span class="sqe-note">3 steps</span>' in html
    assert '<a href="02_b.html">B</a> <span class="sqe-note">1 step</span>' in html


# -- the command ---------------------------------------------------------------------------------


def test_export_writes_the_index_and_a_page_per_lesson(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    status = main(
        [
            "export",
            str(FIXTURES / "lessons" / "01_first_steps.py"),
            str(FIXTURES / "lessons" / "02_relationships.py"),
            "-o",
            str(out),
        ],
        runner=in_process,
    )
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "01_first_steps.html",
        "02_relationships.html",
        "index.html",
    ]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.index("01_first_steps.html") < index.index("02_relationships.html")
    for page in out.glob("0*.html"):
        assert page.stat().st_size <= 1024 * 1024  # the budget of a lesson page
    assert "01_first_steps.html" in capsys.readouterr().err


def test_export_of_a_failing_lesson_writes_it_and_exits_1(tmp_path: Path) -> None:
    status = main(
        ["export", str(FIXTURES / "lessons" / "03_unexpected_error.py"), "-o", str(tmp_path)],
        runner=in_process,
    )
    assert status == 1
    assert (tmp_path / "03_unexpected_error.html").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "nowhere.py", "-o", "out"], "sqlecho: no such file or folder: nowhere.py\n"),
        (["export", "lessons"], "sqlecho: the following arguments are required: -o/--output\n"),
        (["export", "-o", "out"], "sqlecho: the following arguments are required: PATH\n"),
    ],
)
def test_export_usage_problems_exit_2_with_one_line(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv, runner=in_process) == 2
    assert capsys.readouterr().err == message


def test_export_refuses_two_lessons_of_one_name_and_a_file_as_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("print(1)\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.py").write_text("print(2)\n")
    assert (
        main(
            ["export", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "o")], runner=in_process
        )
        == 2
    )
    assert "two lessons would both be x.html" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["export", str(tmp_path / "a"), "-o", str(tmp_path / "file")], runner=in_process) == 2
    assert capsys.readouterr().err == f"sqlecho: {tmp_path / 'file'} is a file, not a folder\n"
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), "-o", str(tmp_path / "o")], runner=in_process) == 2
    assert capsys.readouterr().err == f"sqlecho: {tmp_path / 'empty'} holds no Python file\n"


@pytest.mark.parametrize("golden", sorted((ROOT / "tests" / "golden").glob("*.json")), ids=lambda p: p.stem)
def test_every_lesson_page_fits_a_third_of_the_budget(golden: Path) -> None:
    """A lesson page stays under 1 MiB with --switches, which adds two more runs of the lesson."""
    transcript = json.loads(golden.read_text(encoding="utf-8"))
    source = (LESSONS / f"{golden.stem}.py").read_text(encoding="utf-8")
    page = viewer_page(transcript, source, title=lesson_title(transcript, golden.stem))
    assert len(page.encode("utf-8")) <= 1024 * 1024 // 3


def test_the_site_and_the_app_find_the_same_lessons_in_a_folder(tmp_path: Path) -> None:
    from sqlecho._app.lessons import discover_lessons
    from sqlecho._render.titles import lessons_in
    from sqlecho._site import lesson_files

    for name in ("02_b.py", "01_a.py", "_helpers.py", ".hidden.py", "notes.txt"):
        (tmp_path / name).write_text("x = 1\n", encoding="utf-8")
    expected = [tmp_path / "01_a.py", tmp_path / "02_b.py"]
    assert lessons_in(tmp_path) == expected
    assert lesson_files([tmp_path]) == expected
    assert [lesson.path for lesson in discover_lessons(tmp_path)] == expected


def _predict_lesson() -> tuple[dict[str, Any], str]:
    path = ROOT / "tests" / "fixtures" / "predict" / "01_predict.py"
    source = path.read_text(encoding="utf-8")
    return in_process(source, path, TraceOptions(), path.name), source


def test_a_predicted_step_keeps_what_it_did_in_a_template_until_answered() -> None:
    transcript, source = _predict_lesson()
    page = step_viewer(transcript, source, title="Predicting", storage_key="sqlecho.predict.01_predict")
    step = re.search(r'<section class="sqx-step" data-step="2" data-asked hidden>(.*?)</section>', page, re.S)
    assert step is not None
    before, _, template = step[1].partition('<template class="sqx-answer">')
    assert 'name="q0"' in before and "How many INSERT statements?" in before
    assert "flush" not in before and "INSERT INTO" not in before and "Expect:" not in before
    assert "INSERT" in template and "The commit flushed first" in template and '"answer": "1"' in template
    assert '"storage": "sqlecho.predict.01_predict"' in page
    shown = step_viewer(transcript, source, title="Predicting", predict=False)
    assert "<template class" not in shown and 'class="sqx-score"' not in shown


def test_a_lesson_page_links_the_next_lesson_by_its_title() -> None:
    transcript, source = _predict_lesson()
    page = viewer_page(
        transcript, source, title="Predicting", stem="01_predict", next_lesson=("02_next.html", "After")
    )
    assert '<a class="sqx-next-lesson" href="02_next.html" hidden>Next lesson: After ›</a>' in page
    assert '<link rel="icon" href="data:image/png;base64,' in page


def test_an_exercise_shows_its_task_inside_the_answer() -> None:
    transcript, source = _predict_lesson()
    page = step_viewer(transcript, source, title="Predicting")
    step = page.split('data-step="4"', 1)[1].split("</section>", 1)[0]
    template = step.split('<template class="sqx-answer">', 1)[1]
    assert "Ask the database for the hero named Deadpond" in template


def test_a_prompts_code_span_is_code_on_the_page() -> None:
    transcript, source = _predict_lesson()
    page = step_viewer(transcript, source, title="Predicting")
    assert "<legend>What state is Hero#1 (<code>hero</code>) in after this step?</legend>" in page
