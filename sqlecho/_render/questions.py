"""The questions a predicted step asks, whatever the lesson's ``Expect:`` line claims.

A claim becomes a :class:`Question`: a prompt, the control that answers it (a number, one of the
five object states, or one of a few choices), the right answer and what to say about it once
revealed. :func:`questions_of` is the one place that turns a step's claims into questions; the
page asks and marks questions only, so a new kind of claim needs a new branch here and nothing
else. A prompt never names the cause or the outcome it asks about: "How many SELECT statements?",
not "How many SELECT statements caused by autoflush?" (the cause is in the explanation, shown
with the answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .._transcript.expect import Claim, count_events, parse_expectations

__all__ = ["STATES", "Question", "is_right", "questions_of"]

STATES = ("transient", "pending", "persistent", "deleted", "detached")
"""The five states of an ORM object, in the order of its life (the choices of a state question)."""

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


def _prompt(kind: str) -> str:
    if kind == "SQL":
        return "How many SQL statements and BEGIN/COMMIT/ROLLBACK events will this step send?"
    if kind.startswith("statement"):
        return "How many SQL statements will this step send?"
    if kind in ("BEGIN", "COMMIT", "ROLLBACK"):
        return f"How many {kind} events will this step have?"
    return f"How many {kind} statements will this step send?"


def _count_questions(claims: list[Claim], events: list[dict[str, Any]]) -> list[Question]:
    """One number question per kind of statement the claims count, causes left out of the prompt.

    Claims of one kind with different causes (``1 SELECT (autoflush), 1 SELECT (lazy load)``)
    become one question about every statement of that kind: its answer is read from the events,
    so it is right however the step's other statements are split among causes.
    """
    kinds: dict[str, list[Claim]] = {}
    for claim in claims:
        kinds.setdefault("statements" if claim.kind.startswith("statement") else claim.kind, []).append(claim)
    questions = []
    for kind, same in kinds.items():
        answer = count_events(events, kind, None)
        explain = ", ".join(f"{claim.count} {claim.what}" for claim in same)
        questions.append(Question(_prompt(kind), "number", str(answer), explain=explain))
    return questions


def questions_of(step: dict[str, Any]) -> list[Question]:
    """The questions of a step: none when its narrative has no ``Expect:`` line (or a malformed one)."""
    try:
        claims = parse_expectations(str(step.get("narrative") or "")) or []
    except ValueError:
        return []
    return _count_questions(claims, list(step.get("events") or []))
