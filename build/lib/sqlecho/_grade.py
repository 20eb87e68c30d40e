"""Grading exercises: the checks of a file's ``exercise`` cells, measured against its transcript.

``python -m sqlecho check`` prints, as JSON or as JUnit XML what :func:`grade` finds; the checks
themselves are :mod:`sqlecho._transcript.checks`. The program runs once, like ``trace`` runs it;
nothing but its transcript is looked at.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from ._trace.cells import step_cells
from ._transcript.checks import CheckSyntaxError, Clause, ClauseResult, evaluate, parse_check

__all__ = ["Exercise", "ExerciseResult", "Report", "exercises_of", "grade", "junit_xml"]


@dataclass(frozen=True)
class Exercise:
    """An exercise cell: its title, where it is, its parsed check and its hint."""

    title: str
    line: int
    """The line of the cell's ``# %%`` marker."""
    check: str
    clauses: list[Clause]
    hint: str


class MalformedCheck(ValueError):
    """A check that does not parse, with the file and line it is on (one line of text)."""


def exercises_of(source: str, name: str) -> list[Exercise]:
    """The exercise cells of ``source`` in file order; :class:`MalformedCheck` names the first bad one.

    Args:
        source: a lesson in ``# %%`` cell format.
        name: how to call the file in messages.
    """
    found = []
    for step in step_cells(source):
        cell = step.cell
        if (exercise := cell.exercise) is None:
            continue
        try:
            clauses = parse_check(exercise["check"])
        except CheckSyntaxError as exc:
            raise MalformedCheck(f"{name}:{cell.marker_line}: malformed check: {exc}") from None
        title = cell.title or f"line {cell.marker_line}"
        found.append(Exercise(title, cell.marker_line, exercise["check"], clauses, exercise["hint"]))
    return found


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise, graded."""

    exercise: Exercise
    results: list[ClauseResult]
    problem: str = ""
    """Why it could not be measured (the step never ran, the cell is missing), else ""."""

    @property
    def passed(self) -> bool:
        return not self.problem and all(result.passed for result in self.results)

    def failures(self) -> list[str]:
        """Each reason it failed, as a line: the problem, or ``clause: what was measured``."""
        if self.problem:
            return [self.problem]
        return [str(result) for result in self.results if not result.passed]


@dataclass
class Report:
    """Every exercise of a file, graded, and how the program ended."""

    file: str
    against: str | None
    status: str
    results: list[ExerciseResult] = field(default_factory=list)
    program_error: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "ok" and all(result.passed for result in self.results)

    def text(self) -> str:
        """The report for a terminal: ``PASS``/``FAIL`` and the title, then each failed clause."""
        lines = []
        for result in self.results:
            lines.append(f"{'PASS' if result.passed else 'FAIL'}  {result.exercise.title}")
            lines.extend(f"      {failure}" for failure in result.failures())
        if self.program_error:
            lines.append(f"The program failed: {self.program_error}")
        passed = sum(result.passed for result in self.results)
        count = len(self.results)
        lines.append(f"{passed} of {count} exercise{'s' * (count != 1)} passed")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """The report as one JSON-ready document."""
        return {
            "file": self.file,
            "against": self.against,
            "status": self.status,
            "program_error": self.program_error or None,
            "passed": self.passed,
            "exercises": [
                {
                    "title": result.exercise.title,
                    "line": result.exercise.line,
                    "check": result.exercise.check,
                    "passed": result.passed,
                    "problem": result.problem or None,
                    "clauses": [
                        {"clause": item.clause.text, "passed": item.passed, "measured": item.measured}
                        for item in result.results
                    ],
                }
                for result in self.results
            ],
        }


def _error_text(step: dict[str, Any]) -> str:
    error = step["error"]
    return f"{error['type']}: {error['message']} (line {error['line']})"


def grade(
    exercises: list[Exercise], transcript: dict[str, Any], *, file: str, against: str | None = None
) -> Report:
    """Measure each exercise against the step of ``transcript`` with the exercise's title.

    A step with an error that its cell did not expect fails its exercise unless the check says
    ``raises``; a program that did not run to its end fails the report.
    """
    steps = {step["title"]: step for step in transcript.get("steps", []) if step.get("title")}
    report = Report(file, against, str(transcript.get("status")))
    for exercise in exercises:
        step = steps.get(exercise.title)
        if step is None:
            where = "is not in the file" if against else "never ran"
            report.results.append(ExerciseResult(exercise, [], f"the cell “{exercise.title}” {where}"))
            continue
        report.results.append(ExerciseResult(exercise, evaluate(exercise.clauses, step)))
    if report.status != "ok":
        failed = [step for step in transcript.get("steps", []) if step.get("error")]
        report.program_error = _error_text(failed[-1]) if failed else f"the run ended with {report.status}"
    return report


def junit_xml(report: Report) -> str:
    """The report as JUnit XML: one ``testcase`` per exercise, a ``failure`` for each that failed."""
    cases = report.results
    failures = sum(not result.passed for result in cases)
    suite = ET.Element(
        "testsuite",
        name=f"sqlecho check {report.file}",
        tests=str(len(cases)),
        failures=str(failures),
        errors="1" if report.program_error else "0",
    )
    for result in cases:
        case = ET.SubElement(suite, "testcase", classname=report.file, name=result.exercise.title)
        if not result.passed:
            failure = ET.SubElement(case, "failure", message="; ".join(result.failures()))
            failure.text = "\n".join(result.failures())
    if report.program_error:
        case = ET.SubElement(suite, "testcase", classname=report.file, name="the program runs to its end")
        ET.SubElement(case, "error", message=report.program_error)
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
