"""Predict mode: answer the step's question before seeing what it did.

A lesson step whose narrative states an expectation (``Expect: 1 INSERT (flush), 1 COMMIT``)
opens with its events, objects, session and tables hidden. The reader answers one number per
claim (a form: Tab moves between the fields, Enter submits) or presses **Reveal**; then each part
is marked right or wrong and the step is drawn whole, followed by its "after" explanation.
Predictions live in the browser session: a score per lesson, kept while the reader moves around.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from .._render.plain import md_no_remote_images
from .._transcript.expect import Claim, count_events, parse_expectations
from . import keys

__all__ = [
    "Prediction",
    "after_text",
    "claims_of",
    "hidden",
    "hold_unanswered",
    "predict_panel",
    "score",
    "show_score",
]


@dataclass
class Prediction:
    """What the reader did on one step."""

    answers: list[int] = field(default_factory=list)
    """The numbers given, one per claim (empty when the reader pressed Reveal)."""
    right: list[bool] = field(default_factory=list)
    """Per claim: was the answer right."""

    @property
    def all_right(self) -> bool:
        return bool(self.right) and all(self.right)


def claims_of(step: dict[str, Any]) -> list[Claim]:
    """The step's ``Expect:`` claims (none when the narrative has none, or a malformed one)."""
    try:
        return parse_expectations(str(step.get("narrative") or "")) or []
    except ValueError:
        return []


def _predictions(stem: str) -> dict[int, Prediction]:
    store: dict[str, dict[int, Prediction]] = st.session_state.setdefault(keys.PREDICT, {})
    return store.setdefault(stem, {})


def score(stem: str, steps: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(steps predicted right, steps answered, steps with a question) for one lesson."""
    done = _predictions(stem)
    asked = sum(1 for step in steps if claims_of(step))
    answered = [prediction for prediction in done.values() if prediction.answers]
    return sum(prediction.all_right for prediction in answered), len(answered), asked


def _reveal(stem: str, index: int) -> None:
    _predictions(stem).setdefault(index, Prediction())


def _answer(stem: str, index: int, step: dict[str, Any]) -> None:
    state = st.session_state
    form = keys.predict_form(stem, index)
    claims = claims_of(step)
    answers = [int(state.get(f"{form}_{number}", 0) or 0) for number in range(len(claims))]
    right = [
        answer == count_events(step["events"], claim.kind, claim.cause)
        for answer, claim in zip(answers, claims, strict=True)
    ]
    _predictions(stem)[index] = Prediction(answers, right)


def hold_unanswered(stem: str, steps: list[dict[str, Any]]) -> Any:
    """The navigator's Next hook: an unanswered question is revealed before the reader moves on."""

    def hold(index: int) -> bool:
        if 0 <= index < len(steps) and claims_of(steps[index]) and index not in _predictions(stem):
            _reveal(stem, index)
            return True
        return False

    return hold


def hidden(stem: str, index: int, step: dict[str, Any]) -> bool:
    """True while the step's question waits for an answer (steps without ``Expect:`` never wait)."""
    return bool(claims_of(step)) and index not in _predictions(stem)


def predict_panel(stem: str, index: int, step: dict[str, Any]) -> None:
    """Ask the step's question, or mark the answers given (nothing for a step without a question)."""
    claims = claims_of(step)
    if not claims:
        return
    done = _predictions(stem).get(index)
    if done is None:
        form = keys.predict_form(stem, index)
        with st.form(form, border=True, enter_to_submit=True):
            st.markdown("**Predict before you look:** what will this step send to the database?")
            for number, claim in enumerate(claims):
                st.number_input(claim.question, min_value=0, max_value=999, step=1, key=f"{form}_{number}")
            with st.container(horizontal=True):
                st.form_submit_button(
                    "Check my prediction",
                    type="primary",
                    icon=":material/help:",
                    on_click=_answer,
                    args=(stem, index, step),
                )
        st.button(
            "Reveal",
            key=f"{form}_reveal",
            icon=":material/visibility:",
            on_click=_reveal,
            args=(stem, index),
            help="Show what happened without predicting.",
        )
        return
    if done.answers:
        lines = []
        for claim, answer, right in zip(claims, done.answers, done.right, strict=True):
            actual = count_events(step["events"], claim.kind, claim.cause)
            mark = ":material/check: right" if right else f":material/close: it was {actual}"
            lines.append(f"- {claim.question} You said {answer}: {mark}.")
        verdict = "You predicted it." if done.all_right else "Not quite: compare with what happened."
        (st.success if done.all_right else st.warning)(verdict + "\n\n" + "\n".join(lines))


def after_text(step: dict[str, Any]) -> None:
    """The step's "after" explanation (why it happened), when it has one."""
    if text := str(step.get("after") or ""):
        st.markdown(md_no_remote_images(text))


def show_score(stem: str, steps: list[dict[str, Any]]) -> None:
    """ "7 of 9 predicted" for the lesson, once the reader has answered a question."""
    right, answered, asked = score(stem, steps)
    if answered:
        st.caption(f"Predictions: {right} of {asked} right ({answered} answered).")
