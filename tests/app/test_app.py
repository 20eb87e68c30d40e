"""The Streamlit app, driven through AppTest: every page, widget and link path.

Lessons come from tests/fixtures/lessons and are traced in this process (fast, trusted); the
"Your code" page runs pasted programs in the sandbox, as it does for real readers. Settings are
environment variables, as an operator would set them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "lessons"
TIMEOUT = 30  # a first trace in a cold sandbox worker; every later run takes milliseconds


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_LESSONS", str(FIXTURES))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")
    monkeypatch.delenv("SQLECHO_ALLOW_USER_CODE", raising=False)
    monkeypatch.delenv("SQLECHO_USER_LIMITS", raising=False)


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def _html(at: AppTest) -> str:
    return "\n".join(element.value for element in at.get("html"))  # type: ignore[attr-defined]


def _counter(at: AppTest) -> str:
    found = [m.value for m in at.markdown if m.value.startswith("**Step ")]
    assert len(found) == 1, [m.value for m in at.markdown]
    return found[0]


def _current_lines(at: AppTest) -> list[int]:
    return [int(n) for n in re.findall(r'sqe-current[^"]*"><span class="sqe-ln">(\d+)<', _html(at))]


def _messages(at: AppTest) -> list[str]:
    """The messages on the page, as the reader reads them (markdown escapes undone)."""
    return [_unescaped(element.value) for element in [*at.warning, *at.info, *at.error]]


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")  # see md_literal


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# -- navigation -------------------------------------------------------------------------------


def test_no_address_opens_the_first_lesson_at_step_one() -> None:
    at = _app()
    _clean(at)
    assert at.title[0].value == "First steps with a Session"
    assert _counter(at) == "**Step 1 of 8** · Setup"
    assert at.query_params == {"lesson": "01_first_steps", "step": "1"}
    assert at.radio(key="w_lesson").options == [
        "1. First steps with a Session",  # numbered, as the lessons' own text numbers them
        "2. Lazy loading",
        "3. When a query finds nothing",
    ]
    assert 'CREATE</span> <span class="sqe-kw">TABLE</span> hero' in _html(at)
    assert _messages(at) == []


def test_buttons_and_slider_move_between_steps_and_the_address_follows() -> None:
    at = _app()
    assert at.button(key="first").disabled and at.button(key="prev").disabled
    at.button(key="next").click().run()
    assert _counter(at) == "**Step 2 of 8** · Add two heroes"
    assert at.query_params == {"lesson": "01_first_steps", "step": "2"}
    assert _current_lines(at) == [22, 23, 24, 25, 26]
    assert any("`session.add()` sends nothing" in m.value for m in at.markdown)  # the narrative
    at.button(key="last").click().run()
    assert _counter(at) == "**Step 8 of 8** · Detached" and at.query_params["step"] == "8"
    assert at.button(key="last").disabled
    assert at.button(key="next").label == "Next lesson: 2. Lazy loading"  # the last step leads on
    at.button(key="prev").click().run()
    assert _counter(at).startswith("**Step 7 of 8**") and at.slider(key="w_step").value == 7
    at.slider(key="w_step").set_value(4).run()
    assert _counter(at) == "**Step 4 of 8** · Read a name" and at.query_params["step"] == "4"
    assert "load expired Hero#1" in _html(at)
    at.button(key="first").click().run()
    assert _counter(at).startswith("**Step 1 of 8**") and at.query_params["step"] == "1"
    _clean(at)


def test_the_last_step_opens_the_next_lesson_and_the_last_lesson_ends_there() -> None:
    at = _app(lesson="01_first_steps", step="8")
    at.button(key="next").click().run()
    assert at.title[0].value == "Lazy loading" and _counter(at).startswith("**Step 1 of 5**")
    assert at.query_params == {"lesson": "02_relationships", "step": "1"}
    at = _app(lesson="03_unexpected_error", step="99")
    assert at.button(key="next").label == "Next" and at.button(key="next").disabled
    _clean(at)


def test_choosing_another_lesson_starts_it_at_step_one() -> None:
    at = _app(lesson="01_first_steps", step="5")
    at.radio(key="w_lesson").set_value("02_relationships").run()
    assert at.title[0].value == "Lazy loading"
    assert _counter(at).startswith("**Step 1 of 5**")
    assert at.query_params == {"lesson": "02_relationships", "step": "1"}


def test_a_deep_link_opens_exactly_that_step() -> None:
    at = _app(lesson="02_relationships", step="3")
    _clean(at)
    assert _counter(at) == "**Step 3 of 5** · Load the heroes, then their team"
    html = _html(at)
    assert "lazy load Hero.team" in html and "Rusty-Man is in Preventers" in html
    assert 'class="sqe-badge sqe-st-detached"' in html  # Team#1 left its session in step 2
    assert at.query_params == {"lesson": "02_relationships", "step": "3"}
    assert _messages(at) == []


@pytest.mark.parametrize(
    ("params", "counter", "message"),
    [
        ({"lesson": "99_missing"}, "**Step 1 of 8**", "There is no lesson called “99_missing”"),
        ({"lesson": "01_first_steps", "step": "0"}, "**Step 1 of 8**", "Steps are numbered from 1"),
        ({"lesson": "01_first_steps", "step": "999"}, "**Step 8 of 8**", "This lesson has 8 steps"),
        ({"lesson": "01_first_steps", "step": "abc"}, "**Step 1 of 8**", "“abc” is not a step number"),
        ({"lesson": "01_first_steps", "autoflush": "sometimes"}, "**Step 1 of 8**", "“autoflush=sometimes”"),
    ],
)
def test_a_bad_deep_link_gets_a_friendly_message_and_a_sensible_step(
    params: dict[str, str], counter: str, message: str
) -> None:
    at = _app(**params)
    _clean(at)
    assert _counter(at).startswith(counter)
    assert [text for text in _messages(at) if message in text], _messages(at)
    assert at.query_params["lesson"] == "01_first_steps"
    assert at.query_params["step"] == counter.split()[1]  # the address now says what is shown
    at.slider(key="w_step").set_value(2).run()
    assert not at.warning  # the message was about the link, and is gone once the reader moves


# -- teacher switches -------------------------------------------------------------------------


def test_expire_on_commit_switch_compares_two_runs() -> None:
    at = _app(lesson="01_first_steps", step="4")
    at.toggle(key="w_expire_on_commit").set_value(False).run()
    _clean(at)
    html = _html(at)
    assert "<b>Compared with expire_on_commit=False:</b>" in html
    assert "With expire_on_commit=False this SELECT (load expired Hero#1, line 38) is gone." in html
    assert (
        '<div class="sqe-h">As written' in html and '<div class="sqe-h">With expire_on_commit=False' in html
    )
    assert html.count("only in this run") == 2  # BEGIN and SELECT, marked on the "as written" side
    assert at.query_params == {"lesson": "01_first_steps", "step": "4", "expire_on_commit": "0"}
    at.toggle(key="w_expire_on_commit").set_value(True).run()
    assert "Compared with" not in _html(at) and "expire_on_commit" not in at.query_params


def test_autoflush_switch_from_the_address() -> None:
    at = _app(lesson="01_first_steps", step="5", autoflush="0")
    _clean(at)
    assert at.toggle(key="w_autoflush").value is False
    html = _html(at)
    assert "With autoflush=False this INSERT (autoflush, line 43) is gone." in html
    assert "With autoflush=False, Hero#3 is pending instead of persistent." in html
    assert at.query_params == {"lesson": "01_first_steps", "step": "5", "autoflush": "0"}


def test_a_step_that_is_the_same_in_both_runs_says_so() -> None:
    at = _app(lesson="01_first_steps", step="1", autoflush="0")
    assert "With autoflush=False this step sends the same SQL." in _html(at)


def test_presenter_mode_makes_type_larger_and_can_be_left() -> None:
    at = _app(lesson="02_relationships", step="2")
    assert "font-size: 24px" not in _html(at)
    at.toggle(key="w_presenter").set_value(True).run()
    assert "font-size: 24px" in _html(at)
    assert at.query_params == {"lesson": "02_relationships", "step": "2", "presenter": "1"}
    at.button(key="leave_presenter").click().run()
    assert "font-size: 24px" not in _html(at) and "presenter" not in at.query_params
    assert at.toggle(key="w_presenter").value is False


# -- errors -----------------------------------------------------------------------------------


def test_an_unexpected_error_is_explained() -> None:
    at = _app(lesson="03_unexpected_error", step="2")
    html = _html(at)
    assert '<div class="sqe-err sqe-unexpected" role="alert">' in html
    assert "<b>NoResultFound</b>: No row was found when one was required" in html
    assert ".one() requires exactly one row" in html
    assert "sqe-error-line" in html


def test_an_expected_error_is_styled_as_part_of_the_lesson() -> None:
    at = _app(lesson="01_first_steps", step="8")
    html = _html(at)
    assert '<div class="sqe-err sqe-expected" role="alert">' in html
    assert 'href="https://sqlalche.me/e/' in html and "/bhk3" in html


def test_a_lesson_that_cannot_be_read_gives_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "01_broken.py").write_bytes(b"# %% [markdown]\n# # Broken\n\xff\xfe\n")
    monkeypatch.setenv("SQLECHO_LESSONS", str(tmp_path))
    at = _app()
    _clean(at)
    assert at.error[0].value.startswith("The lesson 01_broken.py could not be traced:")


def test_no_lessons_gives_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_LESSONS", str(tmp_path))
    at = _app()
    _clean(at)
    assert at.info[0].value.startswith("No lessons yet")


def test_a_bad_setting_is_shown_in_one_line_and_the_app_still_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_POOL_SIZE", "abc")
    at = _app()
    assert [w.value for w in at.sidebar.warning] == [
        "SQLECHO_POOL_SIZE='abc' is not a whole number of spare workers (0 or more); using 2."
    ]
    assert not at.exception
    assert _counter(at).startswith("**Step 1 of")


# -- your code --------------------------------------------------------------------------------


@pytest.fixture
def sandboxed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pasted programs run in the sandbox, with a short time limit for the hostile ones."""
    monkeypatch.setenv("SQLECHO_RUNNER", "sandbox")
    monkeypatch.setenv("SQLECHO_USER_LIMITS", "wall_time=1.5")
    yield


def _your_code(code: str | None = None) -> AppTest:
    at = _app()
    at.switch_page("app_pages/your_code.py").run()
    if code is not None:
        at.text_area(key="w_user_code").set_value(code)
        at.button(key="user_run_button").click().run()
    return at


@pytest.mark.usefixtures("sandboxed")
def test_a_pasted_program_is_traced_in_the_sandbox_and_stepped_through() -> None:
    code = "from sqlmodel import SQLModel, create_engine\nengine = create_engine('sqlite://')\nprint('hi')\n"
    at = _your_code(code)
    _clean(at)
    assert "bubblewrap" in at.caption[0].value or "separate process" in at.caption[0].value
    assert _counter(at) == "**Step 1 of 3**"  # a plain script steps line by line
    at.button(key="u_next").click().run()
    at.button(key="u_next").click().run()
    assert "hi\n" in _html(at)
    assert at.text_area(key="w_user_code").value == code  # the text survives reruns


@pytest.mark.usefixtures("sandboxed")
def test_a_pasted_program_that_raises_shows_the_error() -> None:
    at = _your_code("x = 1\nraise ValueError('boom <b>')\n")
    _clean(at)
    assert "Your program raised an error at step 2: that step explains it." in _messages(at)
    assert _counter(at).startswith("**Step 2 of 2**")  # the results open on the failing step
    assert "<b>ValueError</b>: boom &lt;b&gt;" in _html(at)
    assert not [button for button in at.button if button.key == "user_cancel_button"]  # gone with the run
    at.button(key="u_first").click().run()
    at.button(key="u_goto_error").click().run()
    assert _counter(at).startswith("**Step 2 of 2**")


@pytest.mark.usefixtures("sandboxed")
def test_a_pasted_program_that_reaches_into_the_tracer_is_shown_as_tampered() -> None:
    at = _your_code("import gc\nlen(gc.get_objects())\nprint('done')\n")
    _clean(at)
    assert any(
        text.startswith("Tampered: the program reached into the tracer (called gc.get_objects)")
        for text in [_unescaped(e.value) for e in at.error]
    )


@pytest.mark.usefixtures("sandboxed")
def test_a_syntax_error_is_explained() -> None:
    at = _your_code("def broken(:\n    pass\n")
    _clean(at)
    html = _html(at)
    assert "<b>SyntaxError</b>" in html and "Python could not read the program" in html


@pytest.mark.usefixtures("sandboxed")
def test_an_endless_loop_is_stopped_by_the_limit_and_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long enough for 2,000 steps within the run's CPU quota (one core, and a tenth of the CPU
    # weight for pasted code) while the other tests keep both cores busy.
    monkeypatch.setenv("SQLECHO_USER_LIMITS", "wall_time=8,cpu_time=20")  # wall time ends it
    at = _your_code("while True:\n    pass\n")
    _clean(at)
    assert any("stopped by a limit" in text for text in _messages(at))
    assert any("stepping stopped after 2000 steps" in text for text in _messages(at))
    at.button(key="u_goto_error").click().run()
    assert _counter(at).startswith("**Step 2001 of 2001**")
    html = _html(at)
    assert '<div class="sqe-err sqe-limit" role="alert">' in html and "(wall_time = 8 s)" in html
    assert "an endless loop" in html and "Look for a loop whose condition never changes" in html


@pytest.mark.usefixtures("sandboxed")
def test_empty_code_upload_and_starting_from_a_lesson() -> None:
    at = _your_code("   \n")
    assert "Paste a program first: the box is empty." in _messages(at)
    at.button(key="user_from_lesson").click().run()
    assert at.text_area(key="w_user_code").value == (FIXTURES / "01_first_steps.py").read_text()
    at.file_uploader(key="w_upload").set_value(("mine.py", b"print('uploaded')\n", "text/x-python")).run()
    assert at.text_area(key="w_user_code").value == "print('uploaded')\n"
    assert "Loaded mine.py. Press Run to trace it." in _messages(at)
    at.file_uploader(key="w_upload").set_value(("bad.py", b"\xff\xfe\x00", "text/x-python")).run()
    assert "bad.py is not a text file in UTF-8; nothing was loaded." in _messages(at)
    assert at.text_area(key="w_user_code").value == "print('uploaded')\n"


@pytest.mark.usefixtures("sandboxed")
def test_the_lesson_place_is_kept_while_visiting_your_code() -> None:
    at = _app(lesson="02_relationships", step="4")
    at.switch_page("app_pages/your_code.py").run()
    at.switch_page("app_pages/lesson.py").run()
    assert at.title[0].value == "Lazy loading" and _counter(at).startswith("**Step 4 of 5**")


def test_the_operator_can_turn_your_code_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_ALLOW_USER_CODE", "0")
    at = _app()
    _clean(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/your_code.py")
    page = AppTest.from_file(str(ROOT / "app_pages" / "your_code.py"), default_timeout=TIMEOUT).run()
    assert page.info[0].value == "Tracing your own code is turned off on this server."
    assert not page.text_area


def test_the_whole_program_is_one_click_away() -> None:
    at = _app(lesson="02_relationships", step="4")
    assert [expander.label for expander in at.expander] == ["Database: committed rows", "Whole program"]
    assert not at.expander[1].get("html")  # closed: the program's lines are not even sent
    at.session_state["w_whole"] = True  # what opening it in the browser does
    at.run()
    whole = at.expander[1].get("html")[0].value  # type: ignore[attr-defined]
    assert any("sqe-current" in element.value and "scrollTop" in element.value for element in at.get("html"))
    total = len((FIXTURES / "02_relationships.py").read_text().splitlines())
    assert re.findall(r'class="sqe-ln">(\d+)<', whole) == [str(n) for n in range(1, total + 1)]
    assert re.findall(r'sqe-current[^"]*"><span class="sqe-ln">(\d+)<', whole) == ["38", "39"]


# -- what strangers write is shown, never obeyed ----------------------------------------------

EVIL = "[click](https://evil.example)![x](https://evil.example/i.png)**bold** <img src=x> :red[r] $x$"


def _literal(markdown: str) -> bool:
    """True when every ASCII punctuation character of ``markdown`` is backslash-escaped."""
    return not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\.", "", markdown))


@pytest.mark.parametrize("name", ["lesson", "step", "expire_on_commit", "autoflush", "presenter"])
def test_link_parameters_are_shown_as_plain_text(name: str) -> None:
    at = _app(**{"lesson": "01_first_steps", name: EVIL})
    _clean(at)
    [warning] = at.warning
    assert _literal(warning.value), warning.value  # no link, image, emphasis, color or math
    assert "[click](https" in _unescaped(warning.value)


def test_a_long_crafted_lesson_name_is_shown_as_plain_text() -> None:
    at = _app(lesson=EVIL)
    _clean(at)
    [warning] = at.warning
    assert _literal(warning.value), warning.value
    assert _unescaped(warning.value).startswith(
        "There is no lesson called “[click](https://evil.example)![x]"
    )


def test_pasted_narratives_and_titles_load_no_remote_image() -> None:
    code = (
        "# %% [markdown]\n# Read [the docs](https://sqlmodel.tiangolo.com) ![x](https://evil.example/n.png)\n"
        "# ![y][ref]\n#\n# [ref]: https://evil.example/r.png\n"
        "# %% Title ![t](https://evil.example/t.png)\nx = 1\n"
    )
    at = _your_code(code)
    _clean(at)
    shown = "\n".join(element.value for element in at.markdown)
    assert (
        "evil.example/n.png" in shown and "[the docs](https://sqlmodel.tiangolo.com)" in shown
    )  # links stay
    assert "![" not in shown, shown  # every image is text: "!\[x](...)"
    assert "!\\[t](https://evil.example/t.png)" in _counter(at)


# -- a transcript the page cannot draw --------------------------------------------------------

STEP = {"index": 0, "lines": [1, 1], "events": [], "objects": [], "session": {}, "tables": {}}


@pytest.mark.parametrize(
    "transcript",
    [
        {"steps": [{**STEP, "lines": "x"}]},
        {"steps": [{**STEP, "events": [1, 2]}]},
        {"steps": [{**STEP, "objects": [{"state": "persistent", "values": {}, "names": [], "expired": []}]}]},
        {"steps": [1]},
        {"status": "ok"},
        {"steps": [{**STEP, "error": "boom"}], "status": "error"},
    ],
    ids=["lines", "events", "object-without-label", "step-not-a-dict", "no-steps", "error-a-string"],
)
def test_a_malformed_transcript_is_one_plain_message(
    transcript: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlecho._app import traces as _traces
    from sqlecho._app import view as _app_view

    monkeypatch.setattr(_app_view, "trace_here", lambda *_, **__: transcript)
    monkeypatch.setenv("SQLECHO_CACHE_DIR", "off")  # else the lesson comes from an earlier test's file
    # Steps drawn by earlier tests are kept by program text: draw these afresh.
    monkeypatch.setattr(_traces, "_RENDERED", OrderedDict())
    monkeypatch.setattr(_traces, "_rendered_bytes", 0)
    _app_view.trace_cache.clear()  # the next caches use the forged runner
    try:
        at = _your_code("x = 1\n")
        _clean(at)
        for page in ("your code", "lesson"):
            messages = [text for text in _messages(at) if text.startswith("This trace could not be shown: ")]
            assert len(messages) == 1 and "/" not in messages[0] and "Traceback" not in messages[0], (
                page,
                _messages(at),
            )
            at = _app()
            _clean(at)
    finally:
        _app_view.trace_cache.clear()


def test_production_config_shows_no_error_details() -> None:
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
