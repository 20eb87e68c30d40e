"""Predict mode and exercises in the app, driven through AppTest (tests/fixtures/predict)."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "predict"
LESSON = "01_predict"
TIMEOUT = 30
WHAT_HAPPENED = '<div class="sqe-h">What happened'
INSERT = '<span class="sqe-kw">INSERT</span>'
AFTER = "The commit flushed first"


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_LESSONS", str(FIXTURES))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")
    monkeypatch.delenv("SQLECHO_ALLOW_USER_CODE", raising=False)
    monkeypatch.delenv("SQLECHO_USER_LIMITS", raising=False)


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"lesson": LESSON, **params})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _html(at: AppTest) -> str:
    return "\n".join(element.value for element in at.get("html"))  # type: ignore[attr-defined]


def _text(at: AppTest) -> str:
    return "\n".join(element.value for element in [*at.markdown, *at.success, *at.warning, *at.caption])


def _plain(markdown: str) -> str:
    """What the reader reads: markdown escapes and md_literal's word joiners undone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def _submit(at: AppTest) -> None:
    """Press the prediction form's "Check my prediction"."""
    next(button for button in at.button if button.label == "Check my prediction").click().run()


def _predict_key(index: int, part: int) -> str:
    return f"predict_{LESSON}_{index}_{part}"


def test_a_predicted_step_hides_what_happened_until_revealed() -> None:
    at = _app(step="2")
    # The question is asked; neither the answer nor the "Expect:" line that states it is shown.
    assert "Expect: 1 INSERT (flush), 1 COMMIT" not in _text(at)
    assert INSERT not in _html(at) and WHAT_HAPPENED not in _html(at)
    assert "session.commit()" in _html(at) and "statement" not in _html(at)  # the code, not its counts
    assert AFTER not in _text(at)
    at.button(key=f"predict_{LESSON}_1_reveal").click().run()
    assert INSERT in _html(at) and WHAT_HAPPENED in _html(at)
    # Revealed, the claims read as what to look for, in words, with their lines.
    shown = _text(at)
    assert AFTER in shown and "What to look for" in shown and "Expect:" not in shown
    assert "1 INSERT\\, sent by flush at line" in shown and "1 COMMIT at line" in shown


def _state(at: AppTest, index: int, part: int, value: str) -> None:
    """Pick a state chip."""
    at.pills(key=_predict_key(index, part)).set_value(value)


def test_answers_are_marked_right_or_wrong_per_part_and_scored() -> None:
    at = _app(step="2")
    at.number_input(key=_predict_key(1, 0)).set_value(1)
    at.number_input(key=_predict_key(1, 1)).set_value(2)
    _state(at, 1, 2, "pending")
    _submit(at)
    text = _plain(_text(at))
    assert "Not quite" in text and "You said 1: **right** (1 INSERT, sent by flush at line 27)" in text
    assert "You said 2: **wrong**: it was 1 (1 COMMIT at line 27)" in text
    assert (
        "You said pending: **wrong**: it was persistent (transient → pending at line 26; pending → persistent at line 27)."
        in text
    )
    assert "What state is Hero#1 (`hero`) in after this step?" in text  # the name as code
    assert "icon" not in text and ":material/" not in text  # words a screen reader reads
    assert INSERT in _html(at) and AFTER in text
    assert "**Score: 0 of 2** predicted right (1 answered)" in text


def test_a_right_prediction_counts_in_the_score() -> None:
    at = _app(step="2")
    at.number_input(key=_predict_key(1, 0)).set_value(1)
    at.number_input(key=_predict_key(1, 1)).set_value(1)
    _state(at, 1, 2, "persistent")
    _submit(at)
    assert "You predicted it." in _text(at) and "**Score: 1 of 2**" in _text(at)


def test_next_on_an_unanswered_step_reveals_it_first() -> None:
    at = _app(step="2")
    at.button(key="next").click().run()
    assert at.query_params["step"] == "2" and WHAT_HAPPENED in _html(at)
    at.button(key="next").click().run()
    assert at.query_params["step"] == "3"


def test_the_questions_name_neither_cause_nor_outcome() -> None:
    at = _app(step="2")
    labels = [field.label for field in at.number_input]
    assert labels == ["How many INSERT statements?", "How many COMMITs?"]
    assert all(field.value is None for field in at.number_input)  # no default answer
    chips = at.pills(key=_predict_key(1, 2))
    assert chips.label == "What state is Hero#1 (`hero`) in after this step?" and chips.value is None
    assert list(chips.options) == ["transient", "pending", "persistent", "deleted", "detached"]


def test_an_empty_answer_is_not_taken() -> None:
    at = _app(step="2")
    at.number_input(key=_predict_key(1, 0)).set_value(1)
    _submit(at)  # the second question left empty
    assert "Answer every question first" in _plain(_text(at))
    assert INSERT not in _html(at) and "**Score: 0 of 2** predicted right (0 answered)" in _text(at)


def test_nothing_of_the_answer_before_reveal_on_a_step_with_an_exercise() -> None:
    at = _app(step="4")
    shown = _text(at) + _html(at) + "\n".join(e.value for e in [*at.info, *at.error, *at.subheader])
    assert "select == 1" not in shown and "Expect: 1 SELECT" not in shown
    assert "identity map, a query asks" not in shown and "WHERE" not in shown
    assert not at.text_area and "Exercise" not in shown
    at.button(key=f"predict_{LESSON}_3_reveal").click().run()
    assert at.text_area and "select == 1" in _plain(_text(at)) and "identity map, a query asks" in _text(at)


def test_the_last_step_is_revealed_before_the_next_lesson() -> None:
    at = _app(step="4")
    at.button(key="next").click().run()  # "Next lesson: 2. ..."
    assert at.query_params["lesson"] == LESSON and at.query_params["step"] == "4"
    assert "WHERE" in _html(at)
    at.button(key="next").click().run()
    assert at.query_params["lesson"] == "02_next"


def test_the_last_step_ends_with_a_summary_of_the_lesson() -> None:
    at = _app(step="2")
    at.number_input(key=_predict_key(1, 0)).set_value(1)
    at.number_input(key=_predict_key(1, 1)).set_value(1)
    _state(at, 1, 2, "persistent")
    _submit(at)
    at.button(key="last").click().run()
    at.button(key=f"predict_{LESSON}_3_reveal").click().run()
    text = _plain(_text(at))
    assert "You predicted **1 of 2** steps right." in text and "Right: 2. Add and commit." in text
    revisit = at.button(key=f"revisit_{LESSON}_3")
    assert revisit.label == "Step 4: Load by name"
    revisit.click().run()
    assert at.query_params["step"] == "4"


def test_clearing_the_score_forgets_the_answers() -> None:
    at = _app(step="2")
    at.button(key=f"predict_{LESSON}_1_reveal").click().run()
    text = _plain(_text(at) + "\n".join(e.value for e in at.info))
    assert "Revealed without a prediction." in text and "How many COMMITs? 1 (1 COMMIT at line 27)" in text
    at.button(key="clear_score").click().run()
    assert INSERT not in _html(at) and at.number_input(key=_predict_key(1, 0)).value is None


def test_predict_0_in_the_link_shows_everything_at_once() -> None:
    at = _app(step="2", predict="0")
    assert INSERT in _html(at) and AFTER in _text(at)
    assert at.query_params == {"lesson": LESSON, "step": "2", "predict": "0"}
    assert not at.toggle(key="w_predict").value


def test_the_sidebar_toggle_turns_predict_mode_off_and_on() -> None:
    at = _app(step="2")
    at.toggle(key="w_predict").set_value(False).run()
    assert INSERT in _html(at) and at.query_params["predict"] == "0"
    at.toggle(key="w_predict").set_value(True).run()
    assert INSERT not in _html(at) and "predict" not in at.query_params


def test_presenter_mode_has_its_own_predict_switch() -> None:
    at = _app(step="2", presenter="1")
    assert INSERT not in _html(at)
    at.toggle(key="w_predict_presenter").set_value(False).run()
    assert INSERT in _html(at) and at.query_params["predict"] == "0"


def _exercise(at: AppTest, what: str) -> str:
    return f"exercise_{LESSON}_2_{what}"


def test_an_exercise_check_passes_for_the_lessons_code() -> None:
    at = _app(step="3")
    at.button(key=_exercise(at, "check")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and at.success[-1].value.startswith("Check passed.")
    assert "select == 1: 1 SELECT" in _plain(at.success[-1].value)
    assert not at.info  # no hint after a passed check
    assert at.caption[-1].value == "Exercises passed in this lesson: 1 of 2."


def test_an_exercise_check_fails_with_what_was_measured_and_the_hint() -> None:
    at = _app(step="3")
    at.text_area(key=_exercise(at, "code")).input(
        "heroes = session.exec(select(Hero)).all()\nagain = session.exec(select(Hero)).all()\nprint('none')\n"
    )
    at.button(key=_exercise(at, "check")).click().run()
    failed = _plain(at.error[-1].value)
    assert failed.startswith("Not yet.") and "**wrong**: select == 1: 2 SELECTs" in failed
    assert "**wrong**: prints 'heroes: 1': printed 'none'" in failed
    assert "Hint: One SELECT of every hero is enough." in _plain(at.info[-1].value)
    assert at.caption[-1].value == "Exercises passed in this lesson: 0 of 2."


def test_exercise_edits_are_kept_per_step() -> None:
    at = _app(step="3")
    at.text_area(key=_exercise(at, "code")).input("print('mine')\n").run()
    at.button(key="next").click().run()
    at.button(key=f"predict_{LESSON}_3_reveal").click().run()
    at.button(key="prev").click().run()
    assert at.text_area(key=_exercise(at, "code")).value == "print('mine')\n"


def test_a_syntax_error_in_an_exercise_says_so() -> None:
    at = _app(step="3")
    at.text_area(key=_exercise(at, "code")).input("heroes = session.exec(select(Hero).all()\n")
    at.button(key=_exercise(at, "check")).click().run()
    message = _plain(at.error[-1].value)
    assert message.startswith("Your cell has a syntax error on line 1:") and "never reached" not in message


def test_exercises_are_read_only_when_user_code_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_ALLOW_USER_CODE", "0")
    at = _app(step="3")
    assert "Editing is turned off" in at.info[-1].value
    assert not at.text_area


def test_an_exercise_opens_with_its_starter_and_offers_the_solution_after_a_failed_check() -> None:
    at = _app(step="4")
    at.button(key=f"predict_{LESSON}_3_reveal").click().run()
    assert "Ask the database for the hero named Deadpond" in _plain(_text(at))  # the task
    box = at.text_area(key=f"exercise_{LESSON}_3_code")
    assert box.value == 'found = session.get(Hero, 1)\nprint("found:", found.name)'  # the starter
    assert not [b for b in at.button if b.key == f"exercise_{LESSON}_3_show_solution"]  # not before a try
    at.button(key=f"exercise_{LESSON}_3_check").click().run()
    assert _plain(at.error[-1].value).startswith("Not yet.")
    assert "session.get() answers from the identity map" in _plain(at.info[-1].value)  # the hint
    at.button(key=f"exercise_{LESSON}_3_show_solution").click().run()
    assert 'where(Hero.name == "Deadpond")' in at.code[-1].value


def test_the_first_screen_says_what_to_do_in_one_line() -> None:
    at = _app(step="1")
    assert at.caption[0].value == (
        "Read each step and its code, answer the question below it (or press Reveal), then press Next (→)."
    )
    at.button(key="next").click().run()
    assert "answer the question below it" not in "\n".join(c.value for c in at.caption)


def test_a_value_is_asked_with_choices_and_marked() -> None:
    at = _app(step="4")
    choice = at.radio(key=_predict_key(3, 1))
    assert choice.label == "What does Hero#1 (`hero`).name hold after this step?" and choice.value is None
    assert list(choice.options) == ["'Deadpond'", "None", "not loaded (the next access sends a SELECT)"]
    at.number_input(key=_predict_key(3, 0)).set_value(1)
    choice.set_value("None")
    _submit(at)
    assert "You said None: **wrong**: it was 'Deadpond'" in _plain(_text(at))
