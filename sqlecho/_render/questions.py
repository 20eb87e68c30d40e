"""The questions a predicted step asks, whatever the lesson's ``Expect:`` lines claim.

A claim becomes a :class:`Question`: a prompt, the control that answers it (a number, one of the
five object states, or one of a few choices), the right answer and what to say about it once
revealed. :func:`questions_of` is the one place that turns a step's claims into questions; the
app, the exported pages and the notebook viewer ask and mark questions only, so a change in the
claim grammar changes this adapter and nothing else. A prompt never names the cause or the
outcome it asks about: "How many SELECT statements?", not "How many SELECT statements caused by
autoflush?" (the cause is in the explanation, shown with the answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._transcript.checks import STATES
from .._transcript.questions import claims_for
from ..transcript import Step

__all__ = ["STATES", "Question", "is_right", "questions_of"]

Control = Literal["number", "state", "choice"]


@dataclass(frozen=True)
class Question:
    """One thing the reader predicts about a step."""

    prompt: str
    """What is asked, in words that give neither the cause nor the outcome away."""
    control: Control
    """``number`` (a count, typed), ``state`` (one of :data:`STATES`) or ``choice`` (one of ``choices``)."""
    answer: str
    """The right answer, as the control gives it (a count as its digits)."""
    choices: tuple[str, ...] = ()
    """The options of a ``choice`` question (a state question's are :data:`STATES`)."""
    explain: str = ""
    """What the answer means, shown with it (``1 INSERT (flush)``)."""

    @property
    def options(self) -> tuple[str, ...]:
        """What the control offers: the states, the choices, or nothing (a number is typed)."""
        return STATES if self.control == "state" else self.choices


def is_right(question: Question, given: object) -> bool:
    """Whether ``given`` answers ``question``; no answer (None, blank) is never right."""
    if given is None or str(given).strip() == "":
        return False
    if question.control == "number":
        try:
            return int(str(given).strip()) == int(question.answer)
        except ValueError:
            return False
    return str(given) == question.answer


def questions_of(step: Step, *, source: str | None = None, before: Step | None = None) -> list[Question]:
    """The questions of a step: none when its narrative has no ``Expect:`` line (or a malformed
    one, or only ``Shows:`` lines: a setup step is shown, never asked).

    The one adapter between the claim grammar (:func:`sqlecho._transcript.questions.claims_for`)
    and every page that asks: ``source`` (the program) names the lines of a "which line" question,
    ``before`` (the previous step) gives a value question its earlier value as a choice.
    """
    return [
        Question(
            claim.prompt,
            claim.control,
            str(claim.answer),
            tuple(str(choice) for choice in claim.choices),
            claim.explain,
        )
        for claim in claims_for(step, source=source, before=before)
    ]
