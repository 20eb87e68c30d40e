"""The class benchmark (benchmarks.classroom) on a tiny class: both runs complete, every student
joins and answers, the teacher view is refreshed, and the figures are numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.classroom import ClassPlan, main, measure_class


def test_a_tiny_class_run_reports_every_figure(tmp_path: Path) -> None:
    report = measure_class(ClassPlan(students=2, steps=3, think_s=1.2, lessons=1), tmp_path)
    alone, in_class = report["without_class"], report["with_class"]
    assert alone["errors"] == [] and in_class["errors"] == []
    assert alone["joined"] == 0 and in_class["joined"] == 2
    assert alone["step_samples"] == in_class["step_samples"] == 2 * 2
    assert in_class["records_written"] == 2 * 2 * 2  # students x answered steps x questions
    assert in_class["teacher_refreshes"] >= 1 and in_class["teacher_refresh_ms_p95"] > 0
    assert report["step_p95_ratio"] > 0


def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--students", "0"])
    assert stopped.value.code == 2
    assert "--students and --lessons must be 1 or more" in capsys.readouterr().err
