"""Live edit, driven through AppTest: edit a step, run, see both runs; several edits, undo, the
switches; the address that reproduces it all; links that cannot be used; "Your code" by link.

Lessons come from tests/fixtures/lessons. Edited lessons run like pasted programs: in this
process here (``SQLECHO_RUNNER=in-process``, fast), in the sandbox in the tests marked so.
"""

from __future__ import annotations

import base64
import html
import os
import re
import zlib

import pytest
from streamlit.testing.v1 import AppTest

from sqlecho._app.edits import encode_code, encode_edits
from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "lessons"
TIMEOUT = 30
LESSON = "01_first_steps"
EDITOR = f"edit_{LESSON}_6_code"  # step 7, "Close the session"
REFRESH_FIRST = "session.refresh(hero_2)\nsession.close()"


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_LESSONS", str(FIXTURES))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")
    monkeypatch.delenv("SQLECHO_ALLOW_USER_CODE", raising=False)
    monkeypatch.delenv("SQLECHO_USER_LIMITS", raising=False)


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"predict": "0", **params})
    return at.run()


def _html(at: AppTest) -> str:
    return "\n".join(element.value for element in at.get("html"))  # type: ignore[attr-defined]


def _notes(at: AppTest) -> list[str]:
    """The sentences of the comparison box above the step."""
    box = re.search(r'<div class="sqe-diff[^"]*">(.*?)</div>', _html(at), re.S)
    if box is None:
        return []
    return [
        html.unescape(note)
        for note in re.findall(r"<li>(.*?)</li>", box[1]) or [re.sub("<[^>]+>", "", box[1])]
    ]


def _messages(at: AppTest) -> list[str]:
    return [_unescaped(element.value) for element in [*at.warning, *at.info, *at.error]]


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def _counter(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Step "))


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _edit(at: AppTest, editor: str, code: str) -> AppTest:
    at.button(key="edit_step").click().run()
    at.text_area(key=editor).set_value(code).run()
    return at.button(key="edit_run").click().run()


def test_an_edited_step_runs_beside_the_lesson_as_written_with_the_differences_named() -> None:
    at = _app(lesson=LESSON, step="7")
    assert not [b for b in at.button if b.key == "edit_run"]  # the editor opens on demand
    at.button(key="edit_step").click().run()
    assert at.text_area(key=EDITOR).value == "session.close()"  # the step's cell, as written
    at.text_area(key=EDITOR).set_value(REFRESH_FIRST).run()
    at.button(key="edit_run").click().run()
    _clean(at)
    assert _counter(at).startswith("**Step 7 of 8**")  # still on the edited step
    assert not [b for b in at.button if b.key == "edit_run"]  # the editor gives its room to the runs
    assert _notes(at) == [
        "With your edits there is an extra BEGIN (line 51).",
        "With your edits there is an extra SELECT (refresh Hero#2, line 51).",
        "With your edits there is an extra ROLLBACK (line 52).",
        "With your edits, Hero#2 keeps its loaded values: nothing is expired.",
    ]
    html = _html(at)
    assert "refresh" in html.split("Edited code", 1)[1].split("As written", 1)[0]
    assert '<div class="sqe-h">With your edits' in html and '<div class="sqe-h">As written' in html
    assert "Edited: step 7" in [c.value for c in at.caption]
    at.button(key="next").click().run()  # from that step on
    assert _notes(at) == [
        'With your edits this step prints "3", where it printed nothing.',
        "With your edits this step raises no error.",
    ]
    assert "edits" in at.query_params


def test_a_step_before_the_edit_is_the_same_in_both_runs() -> None:
    at = _edit(_app(lesson=LESSON, step="7"), EDITOR, REFRESH_FIRST)
    at.button(key="first").click().run()
    assert _notes(at) == ["With your edits this step sends the same SQL."]


def test_a_cell_that_does_not_parse_is_named_under_the_editor_and_nothing_runs() -> None:
    at = _edit(_app(lesson=LESSON, step="7"), EDITOR, "session.refresh(hero_2\nsession.close()")
    _clean(at)
    assert [_unescaped(e.value) for e in at.error] == [
        "This code has a syntax error at line 1, column 16: '(' was never closed. Nothing was run."
    ]
    assert _notes(at) == [] and "edits" not in at.query_params
    assert at.text_area(key=EDITOR).value.startswith("session.refresh(hero_2\n")  # the text is kept


def test_several_edits_combine_and_undo_returns_to_the_lesson_as_written() -> None:
    at = _edit(_app(lesson=LESSON, step="3"), f"edit_{LESSON}_2_code", "session.flush()")
    assert _notes(at)[0] == "With your edits the COMMIT is gone." or any("COMMIT" in n for n in _notes(at))
    at.button(key="last").click().run()
    at.button(key="prev").click().run()
    at = _edit(at, EDITOR, REFRESH_FIRST)
    assert "Edited: steps 3, 7" in [c.value for c in at.caption]
    both = at.query_params["edits"]
    assert isinstance(both, list) or both  # one parameter, both cells in it
    at.button(key="undo_edits").click().run()
    _clean(at)
    assert _notes(at) == [] and "edits" not in at.query_params
    assert not [b for b in at.button if b.key == "undo_edits"]
    assert "With your edits" not in _html(at)


def test_the_switches_apply_to_the_edited_run() -> None:
    at = _edit(_app(lesson=LESSON, step="7", expire_on_commit="0"), EDITOR, REFRESH_FIRST)
    _clean(at)
    html = _html(at)
    assert "With your edits and expire_on_commit=False" in html
    assert any(note.startswith("With your edits and expire_on_commit=False") for note in _notes(at))


def test_the_address_reproduces_the_edited_lesson_and_says_where_its_code_came_from() -> None:
    first = _edit(_app(lesson=LESSON, step="7"), EDITOR, REFRESH_FIRST)
    params = {name: first.query_params[name] for name in first.query_params}
    params = {name: value[0] if isinstance(value, list) else value for name, value in params.items()}
    assert "The code of the edited steps came from this page's link." not in " ".join(_messages(first))
    fresh = _app(**params)
    _clean(fresh)
    assert _notes(fresh) == _notes(first)
    assert any(
        m.startswith("The code of the edited steps came from this page's link.") for m in _messages(fresh)
    )
    fresh.button(key="undo_edits").click().run()
    assert _notes(fresh) == []


def test_an_edits_link_by_step_number_and_one_for_a_missing_cell() -> None:
    at = _app(
        lesson=LESSON, step="7", edits=encode_edits({"7": REFRESH_FIRST, "No [such](http://x) cell": "1"})
    )
    _clean(at)
    assert "With your edits there is an extra SELECT (refresh Hero#2, line 51)." in _notes(at)
    assert "This lesson has no step “No [such](http://x) cell”; that edit was left out." in _messages(at)
    warning = next(w.value for w in at.warning if "no step" in w.value)
    assert "](" not in warning  # shown as text: no link


@pytest.mark.parametrize(
    "garbage",
    [
        "not base64 at all!",
        "eJzLSM3JyVcozy_KSQEAGgQEXQ",  # zlib of plain text, not the JSON of edits
        base64.urlsafe_b64encode(zlib.compress(b"a" * 4_000_000, 9)).decode().rstrip("="),
        "A" * 7000,
    ],
)
def test_a_bad_edits_link_gets_one_message_and_the_lesson_as_written(garbage: str) -> None:
    at = _app(lesson=LESSON, step="7", edits=garbage)
    _clean(at)
    problems = [m for m in _messages(at) if m.startswith("The link's edits")]
    assert len(problems) == 1 and problems[0].endswith("The lesson is shown as written.")
    assert _notes(at) == [] and "edits" not in at.query_params


def test_edits_too_long_for_a_link_still_run_and_say_so() -> None:
    noise = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(6000))
    at = _edit(_app(lesson=LESSON, step="7"), EDITOR, f"# {noise}\nsession.close()")
    _clean(at)
    assert _notes(at) == ["With your edits this step sends the same SQL."]
    assert any(c.value.startswith("These edits are too long for a link") for c in at.caption)
    assert "edits" not in at.query_params


def test_without_user_code_there_is_no_editor_and_link_edits_do_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SQLECHO_ALLOW_USER_CODE", "0")
    at = _app(lesson=LESSON, step="7")
    assert not [b for b in at.button if b.key == "edit_step"]
    at = _app(lesson=LESSON, step="7", edits=encode_edits({"Close the session": REFRESH_FIRST}))
    _clean(at)
    assert "The edited steps were not run: Tracing your own code is turned off on this server." in _messages(
        at
    )
    assert _notes(at) == []


# -- "Your code" by link ------------------------------------------------------------------------


def _your_code(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("app_pages/your_code.py")
    at.query_params.update(params)
    return at.run()


PROGRAM = "x = 1\nprint('from the link', x)\n"


def test_a_code_link_runs_the_program_and_says_so() -> None:
    at = _your_code(code=encode_code(PROGRAM))
    _clean(at)
    assert at.text_area(key="w_user_code").value == PROGRAM
    assert (
        "This program came from the page's link. It runs in the sandbox, like any pasted program."
        in _messages(at)
    )
    assert _counter(at) == "**Step 1 of 2**"
    at.button(key="u_next").click().run()
    assert "from the link 1" in _html(at)


def test_a_run_puts_its_program_in_the_address() -> None:
    at = _your_code()
    at.text_area(key="w_user_code").set_value(PROGRAM).run()
    at.button(key="user_run_button").click().run()
    _clean(at)
    link = at.query_params["code"]
    link = link[0] if isinstance(link, list) else link
    assert link == encode_code(PROGRAM)
    assert not any("came from the page's link" in m for m in _messages(at))


def test_a_garbled_code_link_gets_one_message_and_runs_nothing() -> None:
    at = _your_code(code="[click](javascript:alert(1))")
    _clean(at)
    assert _messages(at) == [
        "The link's lines of code cannot be read: the link was cut short or changed on the way. Nothing was run."
    ]
    assert not [m for m in at.markdown if m.value.startswith("**Step ")]


@pytest.fixture
def sandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Edited lessons and linked programs run in the sandbox, with a short time limit (long
    enough for a lesson's first run in a cold worker while the lessons are warmed beside it)."""
    monkeypatch.setenv("SQLECHO_RUNNER", "sandbox")
    monkeypatch.setenv("SQLECHO_USER_LIMITS", "wall_time=4")


@pytest.mark.usefixtures("sandboxed")
def test_an_edit_runs_in_the_sandbox() -> None:
    code = "import os\nprint('uid', os.getuid())\nsession.close()"
    at = _edit(_app(lesson=LESSON, step="7"), EDITOR, code)
    _clean(at)
    edited = _html(at).split('<div class="sqe-h">With your edits', 1)[1]
    uid = re.search(r"uid (\d+)", edited)
    assert uid is not None and int(uid[1]) != os.getuid()  # a user of its own, not this process's


@pytest.mark.usefixtures("sandboxed")
def test_a_hostile_link_is_stopped_by_the_limits_of_pasted_code() -> None:
    at = _app(lesson=LESSON, step="3", edits=encode_edits({"Commit": "while True:\n    pass"}))
    _clean(at)
    html = _html(at)
    assert '<div class="sqe-err sqe-limit" role="alert">' in html and "(wall_time = 4 s)" in html
    at = _your_code(code=encode_code("print('x' * 10**9)\n"))
    _clean(at)
    assert any("stopped by a limit" in m for m in _messages(at))


def test_lesson_06_refresh_before_the_close_in_presenter_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The classroom question: "what if we call refresh before the session closes?"."""
    monkeypatch.setenv("SQLECHO_LESSONS", str(ROOT / "lessons"))
    at = _app(lesson="06_closing_the_session", step="2", presenter="1")
    at.button(key="edit_step").click().run()
    editor = "edit_06_closing_the_session_1_code"
    code = at.text_area(key=editor).value
    assert code.endswith("    session.commit()")
    at = _edit(at, editor, code + "\n    session.refresh(lantern)")
    _clean(at)
    assert "With your edits, Book#1 keeps its loaded values: nothing is expired." in _notes(at)
    at.button(key="next").click().run()
    assert _notes(at) == [
        'With your edits this step prints "The Lantern Map", instead of '
        '"DetachedInstanceError: see https://sqlalche.me/e/21/bhk3".',
        "With your edits this step raises no error.",
    ]
    assert "The Lantern Map" in _html(at).split('<div class="sqe-h">With your edits', 1)[1]
    at.button(key="undo_edits").click().run()
    assert "With your edits" not in _html(at) and "edits" not in at.query_params


@pytest.mark.usefixtures("sandboxed")
def test_an_edit_waits_for_admission_like_pasted_code(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlecho._app.config import AppConfig
    from sqlecho._app.view import run_admission

    monkeypatch.setenv("SQLECHO_RUNS", "1")
    monkeypatch.setenv("SQLECHO_RUN_QUEUE", "0")
    admission = run_admission(AppConfig.from_env(os.environ, FIXTURES).admission)  # the server's
    held = admission.enter(1)  # the one place is taken, and nobody may wait
    try:
        at = _app(lesson=LESSON, step="7", edits=encode_edits({"Close the session": REFRESH_FIRST}))
        _clean(at)
        assert any(m.startswith("The server is busy") for m in _messages(at)), _messages(at)
        assert _notes(at) == []
    finally:
        held.leave()
    at.run()
    assert "With your edits there is an extra SELECT (refresh Hero#2, line 51)." in _notes(at)
