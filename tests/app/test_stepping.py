"""Stepping in the browser without a browser: the setting, the viewer the page sends, the
answers the browser reports, and the page's run (``AppTest``) with ``SQLECHO_STEPPING=browser``."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from sqlecho._app import predict
from sqlecho._app.browser_steps import VIEWER
from sqlecho._app.config import AppConfig
from sqlecho._render.export import step_viewer
from sqlecho._render.questions import questions_of
from sqlecho._trace.tracer import TraceOptions, trace_source
from tests.helpers import LESSONS, ROOT

LESSON = LESSONS / "04_expire_on_commit.py"


@pytest.fixture(scope="module")
def lesson() -> tuple[dict[str, Any], str]:
    source = LESSON.read_text(encoding="utf-8")
    return trace_source(source, LESSON, TraceOptions()), source


def test_stepping_is_read_from_the_environment(tmp_path: Path) -> None:
    assert AppConfig.from_env({}, tmp_path).stepping == "server"
    assert AppConfig.from_env({"SQLECHO_STEPPING": " Browser "}, tmp_path).stepping == "browser"
    bad = AppConfig.from_env({"SQLECHO_STEPPING": "telepathy"}, tmp_path)
    assert bad.stepping == "server"
    assert bad.problems == ("SQLECHO_STEPPING='telepathy' is not 'server' or 'browser'; using 'server'.",)


def test_the_deployment_steps_in_the_browser_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        import serve
    finally:
        sys.path.remove(str(ROOT / "deploy"))
    assert serve._parser().parse_args([]).stepping is None  # then SQLECHO_STEPPING, else browser
    assert serve._parser().parse_args(["--stepping", "server"]).stepping == "server"
    with pytest.raises(SystemExit):
        serve._parser().parse_args(["--stepping", "sometimes"])


def test_the_viewer_in_a_page_has_no_script_no_note_and_follows_the_query(
    lesson: tuple[dict[str, Any], str],
) -> None:
    transcript, source = lesson
    alone = step_viewer(transcript, source, title="Expiry")
    html = step_viewer(transcript, source, title="Expiry", in_page=True)
    assert "<script>" in alone and "<script>" not in html  # the page runs the viewer's script itself
    assert "python -m sqlecho check" in alone and "python -m sqlecho check" not in html
    found = re.search(r'<script type="application/json" class="sqx-data">(.*?)</script>', html)
    assert found is not None
    settings = json.loads(found[1])
    assert (settings["follow"], settings["query"], settings["keys"]) == (True, True, False)
    assert html.count('class="sqx-step"') == len(transcript["steps"])


def test_answers_from_the_browser_are_marked_again_by_the_server(
    lesson: tuple[dict[str, Any], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    transcript, source = lesson
    steps = transcript["steps"]
    index = next(i for i, step in enumerate(steps) if questions_of(step))
    questions = questions_of(steps[index], source=source, before=steps[index - 1] if index else None)
    store: dict[str, Any] = {}
    monkeypatch.setattr(predict.st, "session_state", store)
    right = [question.answer for question in questions]
    predict.record("04", steps, index, right, source)
    assert store[predict.keys.PREDICT]["04"][index].all_right
    # What the browser says about the marks is never asked: a wrong answer stays wrong.
    wrong = ["no such answer"] * len(questions)
    predict.record("04", steps, index, wrong, source)
    assert store[predict.keys.PREDICT]["04"][index].right == [False] * len(questions)
    predict.record("04", steps, index, ["too", "many", "answers", "here", "x", "y"], source)
    assert store[predict.keys.PREDICT]["04"][index].answers == wrong  # ignored
    predict.record("04", steps, index, [], source)  # a reveal keeps what was there
    assert store[predict.keys.PREDICT]["04"][index].answers == wrong


def test_the_page_sends_every_step_once_and_no_step_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SQLECHO_LESSONS", str(LESSONS))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")
    monkeypatch.setenv("SQLECHO_STEPPING", "browser")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["lesson"] = "04_expire_on_commit"
    app.query_params["step"] = "3"
    app.query_params["predict"] = "0"
    app.run()
    assert not app.exception
    assert not [button for button in app.button if button.label == "Next"]  # no server step bar
    payloads = _viewer_payloads(app)
    assert len(payloads) == 1
    data = json.loads(payloads[0])
    assert data["lesson"] == "04_expire_on_commit" and data["step"] == 3
    assert data["html"].count('class="sqx-step"') > 3
    assert app.query_params["step"] in ("3", ["3"])  # the address is written as the page is drawn


def _walk(node: Any) -> list[Any]:
    found = [node]
    for child in getattr(node, "children", {}).values():
        found += _walk(child)
    return found


def _viewer_payloads(app: Any) -> list[str]:
    """The ``data`` of every viewer component the run drew."""
    return [
        node.proto.json
        for node in _walk(app._tree)
        if getattr(node, "type", None) == "bidi_component" and node.proto.component_name == VIEWER
    ]


def test_edit_steps_moves_a_browser_stepped_lesson_to_the_server_and_undo_moves_it_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SQLECHO_LESSONS", str(LESSONS))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")
    monkeypatch.setenv("SQLECHO_STEPPING", "browser")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["lesson"] = "04_expire_on_commit"
    app.query_params["step"] = "3"
    app.query_params["predict"] = "0"
    app.run()
    assert not [button for button in app.button if button.label == "Edit this step"]
    app.button(key="edit_steps").click().run()
    assert not app.exception
    assert not _viewer_payloads(app)  # the server steps now: the editor lives there
    assert app.query_params["step"] in ("3", ["3"])  # at the step the reader was on
    app.button(key="edit_step").click().run()
    editor = app.text_area[0]
    app.text_area(key=editor.key).input(editor.value + "\nprint('edited')\n").run()
    app.button(key="edit_run").click().run()
    assert not app.exception
    assert [button for button in app.button if button.label == "Undo edits"]
    app.button(key="undo_edits").click().run()
    assert len(_viewer_payloads(app)) == 1  # the lesson as written, stepped in the browser again
