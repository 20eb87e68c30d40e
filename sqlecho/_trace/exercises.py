"""Exercise files: the starter, the wrong attempts and the other right answers of each exercise.

An exercise cell in a lesson holds the lesson's worked answer (the solution: what the narrative
and its ``Expect:`` lines describe); its header carries the check, the task statement and the
hint (docs/exercises.md). Beside the lesson, ``lessons/exercises/<lesson stem>.py`` holds, per
exercise title, code cells in ``# %%`` format::

    # %% selectinload role="starter"
    ...the code the editor opens with: it runs, and fails the check...
    # %% selectinload role="wrong"
    ...a plausible mistake that fails the check (two at least)...
    # %% selectinload role="alternative"
    ...a different right answer that passes (one at least)...

The app opens the editor with the starter and shows the solution on request; the tests run every
variant in the lesson (:func:`with_code`) and grade it, like the goldens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .cells import CellKind, parse_cells

__all__ = ["ROLES", "Exercise", "exercise_file", "exercises_for", "with_code"]

ROLES = ("starter", "wrong", "alternative")
"""The roles of a cell in an exercise file."""


@dataclass
class Exercise:
    """One exercise of a lesson, with everything a learner and a test need."""

    title: str
    check: str
    task: str
    hint: str
    solution: str
    """The lesson's own cell body."""
    lines: tuple[int, int]
    """The lesson's lines the cell body spans (1-based, inclusive), where a variant goes."""
    starter: str = ""
    wrong: list[str] = field(default_factory=list)
    alternative: list[str] = field(default_factory=list)


def exercise_file(lesson: Path) -> Path:
    """Where the variants of ``lesson``'s exercises live: ``exercises/<stem>.py`` beside it."""
    return lesson.parent / "exercises" / f"{lesson.stem}.py"


def _body(source: str, first: int, last: int) -> str:
    return "\n".join(source.splitlines()[first - 1 : last]) + "\n"


def exercises_for(lesson: Path) -> list[Exercise]:
    """The exercises of ``lesson`` in file order, with their variants (empty when it has no file).

    Raises ValueError for a variant whose title names no exercise or whose role is unknown.
    """
    source = lesson.read_text(encoding="utf-8")
    found: dict[str, Exercise] = {}
    for cell in parse_cells(source):
        exercise = cell.exercise
        if exercise is None or cell.title is None:
            continue
        found[cell.title] = Exercise(
            cell.title,
            exercise["check"],
            exercise["task"],
            exercise["hint"],
            _body(source, cell.first_line, cell.last_line),
            (cell.first_line, cell.last_line),
        )
    variants = exercise_file(lesson)
    if not variants.exists():
        return list(found.values())
    text = variants.read_text(encoding="utf-8")
    for cell in parse_cells(text):
        if cell.kind is not CellKind.CODE or cell.title is None:
            continue
        role = cell.attributes.get("role", "")
        if cell.title not in found:
            raise ValueError(f"{variants.name}:{cell.marker_line}: no exercise is titled {cell.title!r}")
        if role not in ROLES:
            raise ValueError(
                f"{variants.name}:{cell.marker_line}: role={role!r} is not one of {', '.join(ROLES)}"
            )
        code = _body(text, cell.first_line, cell.last_line)
        target = found[cell.title]
        if role == "starter":
            target.starter = code
        else:
            getattr(target, role).append(code)
    return list(found.values())


def with_code(source: str, lines: tuple[int, int], code: str) -> str:
    """``source`` with its lines ``lines`` (1-based, inclusive) replaced by ``code``."""
    all_lines = source.splitlines()
    first, last = lines
    return "\n".join([*all_lines[: first - 1], *code.splitlines(), *all_lines[last:]]) + "\n"
