"""Predict mode's questions: a step's ``Expect:`` claims as typed questions with their answers.

The interface for whoever asks (the app, the exported pages, the notebook viewer)::

    from sqlecho._transcript.questions import claims_for, is_setup

    for question in claims_for(step, source=program_text, before=previous_step):
        question.kind      # "count", "no_sql", "state", "value", "prints", "line", "expired",
                           # "loaded", "row", "rows", "sql", "raises", "object", "changed"
        question.prompt    # "How many SELECT statements?": never names the cause or the outcome
        question.control   # "number" (a whole number), "state" (chips: question.choices are the
                           # five states) or "choice" (one of question.choices)
        question.choices   # () for "number"; else the options, in a stable order
        question.answer    # the right answer: an int for "number", one of choices otherwise
        question.explain   # shown after the reveal: the answer with its cause ("1 INSERT, sent
                           # by autoflush at line 42")
        question.is_right(given)   # compare a reader's answer (int or str) with the answer

``claims_for`` asks one question per count kind (causes are merged: ``1 SELECT (query), 3 SELECT
(lazy load)`` is "How many SELECT statements?", answer 4, and the explanation splits it by cause)
and one per claim of the check grammar. Answers are measured on the step, not copied from the
claim: the lesson tests hold the claims true, and a question is right about the step it shows.
Choices are generated from the transcript (other states, nearby numbers, other printed lines,
the step's code lines), sorted, so they are the same on every run and their order says nothing.

A step whose narrative has only ``Shows:`` lines is a setup step: :func:`is_setup` is True and
it has no questions. It is shown, never asked.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..transcript import Event, ObjectRecord, Step
from .checks import STATES, Clause, evaluate, literal_text
from .counting import statements, transaction_verb
from .expect import parse_claims, parse_expectations

__all__ = ["Question", "claims_for", "is_setup"]

Control = Literal["number", "state", "choice"]
_NUMBER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Question:
    """One question of predict mode, with its right answer."""

    kind: str
    """What is asked: ``count``, ``no_sql``, or a check clause kind (``state``, ``value``...)."""
    prompt: str
    """The question; it names neither the cause nor the outcome."""
    control: Control
    """``number``, ``state`` (choices are the five states) or ``choice``."""
    choices: tuple[str, ...]
    """The options for ``state`` and ``choice``; empty for ``number``."""
    answer: int | str
    """The right answer: an int for ``number``, one of ``choices`` otherwise."""
    explain: str
    """Shown after the reveal: the answer and its cause."""
    claim: str
    """The claim as written in the lesson (never show it before the reveal)."""

    def is_right(self, given: object) -> bool:
        """Whether ``given`` (a number, or a choice's text) is the answer."""
        if self.control == "number":
            try:
                return int(str(given).strip()) == self.answer
            except ValueError:
                return False
        return str(given) == str(self.answer)


def is_setup(step: Step) -> bool:
    """True for a step that states what it does (``Shows:``) and asks nothing (no ``Expect:``)."""
    narrative = str(step.get("narrative") or "")
    return parse_expectations(narrative) is None and parse_expectations(narrative, shown=True) is not None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _lines_text(events: Sequence[Event]) -> str:
    lines = sorted({line for event in events if (line := event.get("line")) is not None})
    if not lines:
        return ""
    return f" at line{'s' * (len(lines) > 1)} {', '.join(map(str, lines))}"


def _count_question(kind: str, events: list[Event], claim: str) -> Question:
    """One number question for a kind (``SELECT``, ``statements``, ``COMMIT``, ``SQL``)."""
    if kind == "SQL":
        sent = [event for event in events if event["kind"] == "sql" or transaction_verb(event)]
        return Question(
            "no_sql",
            "How many statements, BEGINs, COMMITs and ROLLBACKs does this step send?",
            "number",
            (),
            len(sent),
            f"{len(sent)}: " + ("nothing reaches the database." if not sent else "see the SQL below."),
            claim,
        )
    if kind in ("BEGIN", "COMMIT", "ROLLBACK"):
        counted = [event for event in events if transaction_verb(event) == kind.lower()]
        prompt = f"How many {kind}s?"
        explain = f"{_plural(len(counted), kind)}{_lines_text(counted)}."
        return Question("count", prompt, "number", (), len(counted), explain, claim)
    counted = statements(events, None if kind.startswith("statement") else kind)
    noun = "statements in all" if kind.startswith("statement") else f"{kind} statements"
    causes: dict[str, int] = {}
    for event in counted:
        cause = str(event.get("cause") or "unknown")
        causes[cause] = causes.get(cause, 0) + 1
    split = ", ".join(f"{n} by {cause}" for cause, n in causes.items()) if len(causes) > 1 else ""
    split = split or (f"by {next(iter(causes))}" if causes else "")
    what = "statement" if kind.startswith("statement") else kind
    explain = (
        f"{_plural(len(counted), what)}" + (f", sent {split}" if split else "") + f"{_lines_text(counted)}."
    )
    return Question("count", f"How many {noun}?", "number", (), len(counted), explain, claim)


def _objects(step: Step) -> dict[str, ObjectRecord]:
    return {str(obj["label"]): obj for obj in step.get("objects") or []}


def _who(label: str, step: Step) -> str:
    obj = _objects(step).get(label)
    names = list(obj.get("names") or []) if obj else []
    return f"{label} (`{names[0]}`)" if names else label


def _near(value: object) -> list[object]:
    """Plausible wrong values next to ``value``: neighbours of a number, the other boolean, None."""
    if isinstance(value, bool):
        return [not value, None]
    if isinstance(value, int):
        return [value - 1, value + 1, 0] if value > 0 else [value + 1, value + 2]
    if isinstance(value, float):
        return [value - 1, value + 1]
    return [None]


def _with_distractors(answer: str, distractors: list[str], size: int = 4) -> tuple[str, ...]:
    options = [answer]
    for option in distractors:
        if option not in options and len(options) < size:
            options.append(option)
    return tuple(sorted(options))


def _line_variants(line: str) -> list[str]:
    """The printed line with each number changed, and True/False swapped: plausible wrong lines."""
    variants = []
    for match in _NUMBER.finditer(line):
        n = int(match[0])
        for other in (n + 1, n - 1 if n > 0 else n + 2, 0):
            if other != n:
                variants.append(line[: match.start()] + str(other) + line[match.end() :])
    for word, swapped in (("True", "False"), ("False", "True"), ("None", "0")):
        if word in line:
            variants.append(line.replace(word, swapped))
    return variants


NOTHING_PRINTED = "(nothing: this step prints no line)"
RAISED_FIRST = "(nothing: the step raises an error before it prints)"


def _swapped_values(line: str, step: Step) -> list[str]:
    """The line with a text value of one of the step's objects replaced by another such value
    (``found: Deadpond`` -> ``found: Spider-Boy``): a wrong line the program could have printed."""
    values = sorted(
        {
            value
            for obj in step.get("objects") or []
            for value in (obj.get("values") or {}).values()
            if isinstance(value, str) and len(value) > 1
        }
    )
    variants = []
    for value in values:
        if value in line:
            variants += [
                line.replace(value, other) for other in values if other != value and other not in line
            ]
    return variants


def _printed_lines(step: Step) -> list[str]:
    text = "".join(str(e.get("text", "")) for e in step.get("events") or [] if e["kind"] == "output")
    return [line.rstrip() for line in text.splitlines()]


def _clause_question(  # noqa: PLR0911 - one question per clause kind
    clause: Clause, step: Step, source: str | None, before: Step | None
) -> Question | None:
    result = evaluate([clause], step, source)[0]
    events = list(step.get("events") or [])
    if clause.kind == "state":
        obj = _objects(step).get(clause.argument)
        state = str(obj["state"]) if obj else "transient"
        moves = [e for e in events if e["kind"] == "transition" and e.get("object") == clause.argument]
        how = (
            "; ".join(f"{e['from']} → {e['to']} at line {e['line']}" for e in moves)
            or "no change in this step"
        )
        prompt = f"What state is {_who(clause.argument, step)} in after this step?"
        # The answer is said beside it ("it was persistent"): the explanation says how it got there.
        return Question("state", prompt, "state", STATES, state, f"{how}.", clause.text)
    if clause.kind == "value":
        obj = _objects(step).get(clause.argument)
        values = dict((obj.get("values") or {}) if obj else {})
        if clause.attribute in values:
            actual: object = values[clause.attribute]
            answer = literal_text(actual)
        else:
            actual, answer = None, "not loaded (the next access sends a SELECT)"
        earlier = _objects(before).get(clause.argument) if before else None
        earlier_values = (earlier.get("values") or {}) if earlier else {}
        others = [literal_text(v) for v in _near(actual)]
        if clause.attribute in earlier_values:
            others.insert(0, literal_text(earlier_values[clause.attribute]))
        others.append("not loaded (the next access sends a SELECT)")
        name = f"{_who(clause.argument, step)}.{clause.attribute}"
        prompt = f"What does {name} hold after this step?"
        explain = f"{result.measured}{_lines_text(_touching(events, clause.argument))}."
        return Question(
            "value", prompt, "choice", _with_distractors(answer, others), answer, explain, clause.text
        )
    if clause.kind == "prints":
        printed = _printed_lines(step)
        answer = clause.argument if clause.argument in printed else (printed[0] if printed else "")
        # Wrong choices are lines it does not print: another printed line would also be right.
        others = [
            line for line in _line_variants(answer) + _swapped_values(answer, step) if line not in printed
        ]
        # A line with no number nor a value to swap still gets wrong choices: that it printed
        # nothing, or failed first (a learner's two usual fears after a commit or a close).
        others += [NOTHING_PRINTED, RAISED_FIRST]
        prompt = "Which of these lines does this step print?"
        return Question(
            "prints",
            prompt,
            "choice",
            _with_distractors(answer, others),
            answer,
            f"It prints {answer!r}.",
            clause.text,
        )
    if clause.kind in ("expired", "loaded"):
        obj = _objects(step).get(clause.argument)
        expired = list(obj.get("expired") or []) if obj else []
        loaded = list((obj.get("values") or {}).keys()) if obj else []
        everything = sorted({*expired, *loaded, *(obj.get("unloaded", []) if obj else [])})
        have = expired if clause.kind == "expired" else loaded
        answer = ", ".join(have) or "none"
        options = [", ".join(everything), "none", ", ".join(clause.attributes), ", ".join(everything[:1])]
        if clause.kind == "expired":
            prompt = f"Which attributes of {_who(clause.argument, step)} would the next access load from the database?"
        else:
            prompt = (
                f"Which attributes of {_who(clause.argument, step)} can be read without SQL after this step?"
            )
        explain = f"{result.measured}."
        return Question(
            clause.kind, prompt, "choice", _with_distractors(answer, options), answer, explain, clause.text
        )
    if clause.kind == "line":
        sent = statements(events, None if clause.counter == "sql" else clause.counter)
        lines = sorted({line for e in sent if (line := e.get("line")) is not None})
        first, last = step.get("lines") or [0, 0]
        code = source.splitlines() if source else []

        def show(number: int) -> str:
            text = code[number - 1].strip() if 0 < number <= len(code) else ""
            return f"{number}: {text}" if text else f"line {number}"

        candidates = [
            show(n)
            for n in range(int(first), int(last) + 1)
            if not code or (code[n - 1].strip() and not code[n - 1].strip().startswith("#"))
        ]
        what = "statement" if clause.counter == "sql" else clause.counter.upper()
        # "None of them" is always a choice: that a line such as a print sends SQL is often the point.
        none = f"none: this step sends no {what}"
        answer = show(lines[0]) if lines else none
        prompt = f"Which line sends the {what}?"
        choices = tuple(dict.fromkeys([*candidates, answer, none]))
        return Question("line", prompt, "choice", choices, answer, f"{result.measured}.", clause.text)
    if clause.kind == "object":
        labels = sorted(_objects(step))
        holder = next(
            (o for o in _objects(step).values() if clause.attribute in (o.get("names") or [])), None
        )
        answer = str(holder["label"]) if holder else "none"
        prompt = f"Which object does `{clause.attribute}` refer to after this step?"
        # Whether a query hands back the object already in the session or a new copy of the row
        # is what these questions ask: "a new object" is always a choice, and so is "none".
        classes = sorted({str(obj.get("class")) for obj in _objects(step).values() if obj.get("class")})
        copies = [f"a new {name} object, a copy of the same row" for name in classes[:1]]
        return Question(
            "object",
            prompt,
            "choice",
            _with_distractors(answer, [*labels, *copies, "none"], 6),
            answer,
            f"{result.measured}.",
            clause.text,
        )
    if clause.kind in ("rows", "changed") or (clause.kind == "count" and clause.counter == "changed"):
        found = _NUMBER.search(result.measured)
        number = int(found[0]) if found else 0
        prompt = (
            f"How many committed rows does the table {clause.argument} hold after this step?"
            if clause.kind == "rows"
            else "How many rows do this step's statements write?"
        )
        return Question(
            clause.kind if clause.kind == "rows" else "changed",
            prompt,
            "number",
            (),
            number,
            f"{result.measured}.",
            clause.text,
        )
    if clause.kind == "row":
        table = (step.get("tables") or {}).get(clause.argument) or {"columns": [], "rows": []}
        columns = list(table["columns"])
        column, key = clause.key
        row = next(
            (r for r in table["rows"] if column in columns and r[columns.index(column)] == _eval(key)), None
        )
        actual = (
            row[columns.index(clause.attribute)] if row is not None and clause.attribute in columns else None
        )
        answer = literal_text(actual) if row is not None else "no such row"
        others = [literal_text(v) for v in _near(actual)] + ["no such row"]
        prompt = f"What does the database hold in {clause.argument}.{clause.attribute} for {column}={key} after this step?"
        return Question(
            "row",
            prompt,
            "choice",
            _with_distractors(answer, others),
            answer,
            f"{result.measured}.",
            clause.text,
        )
    if clause.kind == "sql":
        answer = "yes" if result.passed else "no"
        prompt = f"Does a statement of this step contain `{clause.argument}`?"
        return Question(
            "sql", prompt, "choice", ("no", "yes"), answer, f"{answer}: {result.measured}.", clause.text
        )
    if clause.kind == "raises":
        error = step.get("error")
        answer = str(error["type"]) if error else "nothing"
        options = [answer, "nothing", clause.argument]
        prompt = "Which error does this step raise, if any?"
        return Question(
            "raises",
            prompt,
            "choice",
            _with_distractors(answer, options),
            answer,
            f"It raised {answer}.",
            clause.text,
        )
    return None


def _eval(literal: str) -> object:
    return ast.literal_eval(literal)


def _touching(events: list[Event], label: str) -> list[Event]:
    return [e for e in events if e.get("object") == label or label in str(e.get("cause") or "")]


def claims_for(step: Step, *, source: str | None = None, before: Step | None = None) -> list[Question]:
    """The questions of ``step``'s ``Expect:`` lines, in the order written (counts merged per kind).

    Args:
        step: a transcript step.
        source: the program's text (to show code in ``line`` questions).
        before: the previous step (its values make plausible wrong choices).

    A malformed ``Expect:`` line asks nothing (the lesson tests reject it); a setup step
    (:func:`is_setup`) asks nothing.
    """
    narrative = str(step.get("narrative") or "")
    try:
        counts = parse_expectations(narrative) or []
        clauses = parse_claims(narrative)
    except ValueError:
        return []
    events = list(step.get("events") or [])
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for claim in counts:
        kind = "statements" if claim.kind.startswith("statement") else claim.kind
        written = f"{claim.count} {claim.kind}" + (f" ({claim.cause})" if claim.cause else "")
        if kind in seen:  # causes of one kind: one question, the claims joined
            index = seen[kind]
            old = questions[index]
            questions[index] = Question(
                old.kind,
                old.prompt,
                old.control,
                old.choices,
                old.answer,
                old.explain,
                f"{old.claim}, {written}",
            )
            continue
        seen[kind] = len(questions)
        questions.append(_count_question(kind, events, written))
    for clause in clauses:
        question = _clause_question(clause, step, source, before)
        if question is not None:
            questions.append(question)
    return questions
