"""Predict mode: answer the step's questions before seeing what it did.

A lesson step whose narrative states an expectation (``Expect: 1 INSERT (flush), 1 COMMIT``)
opens with its events, objects, session, tables, "after" text and exercise left out of the page
(not hidden: absent). The reader answers each question with its control (a number typed into an
empty field, a state chip, a choice; :mod:`sqlecho._app.questions`) or presses **Reveal**; then
each answer is marked right or wrong and the step is drawn whole. An empty answer is never taken:
the form asks for every answer first.

Predictions are kept per lesson in the browser session and copied to the browser's
``localStorage`` (:mod:`sqlecho._app.saved`), so the score at the top of the page survives a
reload and a new tab until the reader clears it. The lesson's last step ends with a summary:
what the reader got right and which steps to revisit. A reader in a class also has each answer
(right, wrong or revealed, per question) recorded for their teacher (:mod:`sqlecho._app.classroom`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from .._render.plain import md_literal, md_no_remote_images
from .._render.questions import Question, is_right, questions_of
from ..transcript import Step
from . import keys
from .classroom import hooks as classroom
from .saved import browser_copy

__all__ = [
    "Prediction",
    "after_text",
    "hidden",
    "hold_unanswered",
    "predict_panel",
    "record",
    "score",
    "show_score",
    "show_summary",
]


@dataclass
class Prediction:
    """What the reader did on one step."""

    answers: list[str] = field(default_factory=list)
    """The answers given, one per question (empty when the reader pressed Reveal)."""
    right: list[bool] = field(default_factory=list)
    """Per question: was the answer right."""
    title: str = ""
    """The step's title when answered (a stored prediction whose step changed title is dropped)."""

    @property
    def all_right(self) -> bool:
        return bool(self.right) and all(self.right)


def _questions(steps: list[Step], index: int, source: str | None = None) -> list[Question]:
    """The questions of step ``index``, with the program (for "which line") and the step before."""
    return questions_of(steps[index], source=source, before=steps[index - 1] if index else None)


def _predictions(stem: str) -> dict[int, Prediction]:
    store: dict[str, dict[int, Prediction]] = st.session_state.setdefault(keys.PREDICT, {})
    return store.setdefault(stem, {})


def score(stem: str, steps: list[Step]) -> tuple[int, int, int]:
    """(steps predicted right, steps answered, steps with a question) for one lesson."""
    done = _predictions(stem)
    asked = sum(1 for step in steps if questions_of(step))
    answered = [prediction for prediction in done.values() if prediction.answers]
    return sum(prediction.all_right for prediction in answered), len(answered), asked


def _title(step: Step) -> str:
    return str(step.get("title") or "")


def _reveal(stem: str, index: int, step: Step) -> None:
    if index not in _predictions(stem):
        classroom.on_prediction(stem, index, [q.prompt for q in questions_of(step)], None)
    _predictions(stem).setdefault(index, Prediction(title=_title(step)))


def _answer(stem: str, index: int, steps: list[Step], source: str) -> None:
    state = st.session_state
    form = keys.predict_form(stem, index)
    step = steps[index]
    questions = _questions(steps, index, source)
    given = [state.get(f"{form}_{number}") for number in range(len(questions))]
    if any(answer is None or str(answer).strip() == "" for answer in given):
        state[f"{form}_missing"] = True  # nothing is marked: an empty answer is not an answer
        return
    state.pop(f"{form}_missing", None)
    answers = [str(int(answer)) if isinstance(answer, float) else str(answer) for answer in given]
    _mark(stem, index, step, questions, answers)


def _mark(stem: str, index: int, step: Step, questions: list[Question], answers: list[str]) -> None:
    """Keep the reader's answers to ``step``'s questions, marked here, and tell the class."""
    right = [is_right(question, answer) for question, answer in zip(questions, answers, strict=True)]
    _predictions(stem)[index] = Prediction(list(answers), right, _title(step))
    classroom.on_prediction(stem, index, [question.prompt for question in questions], right)


def record(stem: str, steps: list[Step], index: int, answers: list[str], source: str) -> None:
    """A prediction the reader made in the browser (the lesson page stepping there): marked
    here again, never taken as the browser marked it; no answers is a reveal without one."""
    step = steps[index]
    questions = _questions(steps, index, source)
    if not answers:
        _reveal(stem, index, step)
    elif len(answers) == len(questions):
        _mark(stem, index, step, questions, answers)


def hold_unanswered(stem: str, steps: list[Step]) -> Callable[[int], bool]:
    """The navigator's Next hook: an unanswered question is revealed before the reader moves on
    (the last step's too, before "Next lesson")."""

    def hold(index: int) -> bool:
        if 0 <= index < len(steps) and questions_of(steps[index]) and index not in _predictions(stem):
            _reveal(stem, index, steps[index])
            return True
        return False

    return hold


def hidden(stem: str, index: int, step: Step) -> bool:
    """True while the step's question waits for an answer (steps without ``Expect:`` never wait)."""
    return bool(questions_of(step)) and index not in _predictions(stem)


def _md_prompt(prompt: str) -> str:
    """A question as markdown: its words literal, its `code` spans (a variable's name) as code."""
    parts = re.split(r"(`[^`\n]+`)", prompt)
    return "".join(part if part.startswith("`") else md_literal(part) for part in parts)


def _ask(form: str, number: int, question: Question) -> None:
    """The control of one question, empty until the reader answers."""
    key = f"{form}_{number}"
    if question.control == "number":
        st.number_input(
            question.prompt,
            min_value=0,
            max_value=999,
            step=1,
            value=None,
            placeholder="Your answer",
            key=key,
            width=240,
        )
    elif question.control == "state":
        st.pills(question.prompt, question.options, selection_mode="single", default=None, key=key)
    else:
        st.radio(question.prompt, question.options, index=None, key=key)


def predict_panel(stem: str, steps: list[Step], index: int, source: str) -> None:
    """Ask the step's questions, or mark the answers given (nothing for a step without a question)."""
    step = steps[index]
    questions = _questions(steps, index, source)
    if not questions:
        return
    done = _predictions(stem).get(index)
    if done is None:
        form = keys.predict_form(stem, index)
        with st.form(form, border=True, enter_to_submit=True):
            st.markdown("**Predict before you look.**")
            for number, question in enumerate(questions):
                _ask(form, number, question)
            if st.session_state.get(f"{form}_missing"):
                st.markdown("Answer every question first (or press **Reveal** to see without predicting).")
            st.form_submit_button(
                "Check my prediction",
                type="primary",
                icon=":material/help:",
                on_click=_answer,
                args=(stem, index, steps, source),
            )
        st.button(
            "Reveal",
            key=f"{form}_reveal",
            icon=":material/visibility:",
            on_click=_reveal,
            args=(stem, index, step),
            help="Show what happened without predicting.",
        )
        return
    if done.answers and len(done.answers) == len(questions):
        lines = []
        for question, answer, right in zip(questions, done.answers, done.right, strict=True):
            # Words, not icons: a screen reader reads an icon's name ("check", "close").
            mark = "**right**" if right else f"**wrong**: it was {md_literal(question.answer)}"
            why = f" ({md_literal(question.explain.rstrip('.'))})" if question.explain else ""
            lines.append(f"- {_md_prompt(question.prompt)} You said {md_literal(answer)}: {mark}{why}.")
        verdict = "You predicted it." if done.all_right else "Not quite: compare with what happened."
        (st.success if done.all_right else st.warning)(verdict + "\n\n" + "\n".join(lines))
    else:
        explained = [
            f"- {_md_prompt(q.prompt)} {md_literal(q.answer)} ({md_literal(q.explain.rstrip('.'))})"
            for q in questions
        ]
        st.info("Revealed without a prediction.\n\n" + "\n".join(explained))


def after_text(step: Step) -> None:
    """The step's "after" explanation (why it happened), when it has one."""
    if text := str(step.get("after") or ""):
        st.markdown(md_no_remote_images(text))


def _stored(stem: str, steps: list[Step], value: object) -> dict[int, Prediction]:
    """The predictions a browser had stored for this lesson, those whose step still matches."""
    out: dict[int, Prediction] = {}
    items = value.get("steps") if isinstance(value, dict) else None
    if not isinstance(items, dict):
        return out
    for text, item in items.items():
        if not (isinstance(text, str) and text.isdigit() and isinstance(item, dict)):
            continue
        index = int(text)
        answers, right = item.get("answers"), item.get("right")
        if not (
            0 <= index < len(steps)
            and questions_of(steps[index])
            and item.get("title") == _title(steps[index])
        ):
            continue
        if not (isinstance(answers, list) and isinstance(right, list) and len(answers) == len(right)):
            continue
        out[index] = Prediction([str(a) for a in answers], [r is True for r in right], _title(steps[index]))
    return out


def _serialised(done: dict[int, Prediction]) -> dict[str, object]:
    return {
        "steps": {
            str(index): {"title": item.title, "answers": item.answers, "right": item.right}
            for index, item in sorted(done.items())
        }
    }


def _clear(stem: str) -> None:
    _predictions(stem).clear()


def show_score(stem: str, steps: list[Step]) -> None:
    """The score line at the top of the lesson, kept in the browser, with a button to clear it."""
    done = _predictions(stem)
    loaded: set[str] = st.session_state.setdefault(keys.PREDICT_LOADED, set())
    answered_by_browser, value = browser_copy(stem, _serialised(done) if stem in loaded else None)
    if answered_by_browser and stem not in loaded:
        loaded.add(stem)
        for index, item in _stored(stem, steps, value).items():
            done.setdefault(index, item)  # what this tab did before the browser answered wins
        st.rerun()  # draw the step with what was stored (a revealed step, the score)
    right, answered, asked = score(stem, steps)
    if not asked:
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key=keys.SCORE_BAR):
        st.markdown(f"**Score: {right} of {asked}** predicted right ({answered} answered)", width="content")
        if done:
            st.button(
                "Clear my answers",
                key=keys.CLEAR_SCORE_BUTTON,
                type="tertiary",
                icon=":material/restart_alt:",
                on_click=_clear,
                args=(stem,),
                help="Forget this lesson's predictions, here and in this browser.",
            )


def _go(step: int) -> None:
    st.session_state[keys.step(keys.LESSON_STEPS)] = step


def show_summary(stem: str, steps: list[Step]) -> None:
    """The end of the lesson: the steps predicted right, and the ones to revisit (buttons to them)."""
    asked = [index for index, step in enumerate(steps) if questions_of(step)]
    if not asked:
        return
    done = _predictions(stem)
    right = [index for index in asked if index in done and done[index].all_right]
    revisit = [index for index in asked if index not in right]
    st.subheader("Lesson summary", anchor=False)
    st.markdown(f"You predicted **{len(right)} of {len(asked)}** steps right.")
    if right:
        named = ", ".join(f"{index + 1}. {md_literal(_title(steps[index]) or 'untitled')}" for index in right)
        st.markdown(f"Right: {named}.")
    if not revisit:
        st.markdown("Nothing to revisit: every prediction was right.")
        return
    st.markdown("To revisit (a wrong answer, or revealed without one):")
    with st.container(horizontal=True, gap="small"):
        for index in revisit:
            st.button(
                f"Step {index + 1}: {_title(steps[index]) or 'untitled'}",
                key=f"revisit_{stem}_{index}",
                type="secondary",
                on_click=_go,
                args=(index + 1,),
            )
