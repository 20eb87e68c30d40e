"""The benchmark runs and reports every figure. Its numbers are not asserted: timings belong in
docs/benchmarks.md, not in a test that a busy machine would fail."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import benchmarks.__main__ as bench
from benchmarks.cli import compile_package
from benchmarks.export import FIGURES as EXPORT_FIGURES
from benchmarks.stats import SPECS, Figure, Goal, Verdict, percentile
from benchmarks.workload import cell_lesson, line_script, reference_workload, write_program
from sqlecho._trace.tracer import trace
from tests.helpers import CHROMIUM, ROOT

CI = os.environ.get("CI") == "true"


def test_every_figure_is_in_exactly_one_part() -> None:
    listed = [name for names in bench.GROUPS.values() for name in names]
    assert sorted(listed) == sorted(SPECS)
    assert len(listed) == len(set(listed))


def test_smoke_run_reports_every_figure_as_a_number() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho.bench", "--json", "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)  # stdout is one JSON document and nothing else
    assert report["plan"] == "smoke"
    assert list(report["figures"]) == [name for names in bench.GROUPS.values() for name in names]
    for name, record in report["figures"].items():
        value = record["value"]
        if value is None and name in EXPORT_FIGURES[1:] and not Path(CHROMIUM).exists() and not CI:
            continue  # first paint needs Chromium, which CI installs
        if (
            value is None
            and name.startswith("postgres_")
            and not Path("/usr/lib/postgresql").exists()
            and not CI
        ):
            continue  # PostgreSQL runs need Debian's server, which CI installs
        assert isinstance(value, int | float) and not isinstance(value, bool), (name, record)
        assert math.isfinite(value), (name, record)
        assert record["verdict"] in {"pass", "miss", "-"}, (name, record)
        if name != "sessions_correct":  # its goal is the number of sessions of this run
            assert record["goal"] == (str(SPECS[name].goal) if SPECS[name].goal else None), name
    sessions = report["figures"]["sessions"]["value"]
    assert report["figures"]["sessions_correct"]["goal"] == f">= {sessions}"
    assert report["machine"]["cpus"] >= 1


def test_table_shows_value_goal_verdict_and_reason() -> None:
    figures = [
        Figure("trace_overhead", 1.25),
        Figure("steps_scaling", 14.0),
        Figure("echo_overhead", 1.1),
        Figure("sessions_correct", None, reason="no app at /nowhere/app.py"),
    ]
    report = {
        "plan": "quick",
        "machine": {
            "cpus": 2,
            "memory_gib": 4.0,
            "python": "3.11",
            "sqlalchemy": "2.1",
            "date": "today",
            "load": [0.5, 0.5, 0.5],
            "load_end": [0.6, 0.5, 0.5],
        },
        "duration_s": 1.0,
        "figures": {figure.name: figure.as_json() for figure in figures},
    }
    lines = bench.format_table(report).splitlines()
    row = {line.split()[0]: line.split() for line in lines[2:] if line.strip()}
    assert row["trace_overhead"][:6] == ["trace_overhead", "1.25", "x", "<=", "1.3", "pass"]
    assert row["steps_scaling"][:6] == ["steps_scaling", "14", "x", "<=", "12", "miss"]
    assert row["echo_overhead"][:4] == ["echo_overhead", "1.1", "x", "-"]
    assert row["sessions_correct"][:3] == ["sessions_correct", "null", "n/a"]
    assert "sessions_correct: no app at /nowhere/app.py" in lines


def test_verdicts() -> None:
    assert Figure("trace_overhead", 1.3).verdict is Verdict.PASS
    assert Figure("trace_overhead", 1.31).verdict is Verdict.MISS
    assert Figure("echo_overhead", 9.0).verdict is Verdict.INFO
    assert Figure("trace_overhead", None, reason="x").verdict is Verdict.NONE
    assert Figure("sessions_correct", 49, goal_override=Goal(">=", 50)).verdict is Verdict.MISS
    assert Figure("sessions_correct", 50, goal_override=Goal(">=", 50)).verdict is Verdict.PASS


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([3.0], 95) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_missing_app_is_reported_not_raised(tmp_path: Path) -> None:
    report = bench.run(bench.SMOKE, tmp_path / "app.py", groups=["render", "sessions"])
    for name in bench.GROUPS["render"] + bench.GROUPS["sessions"]:
        record = report["figures"][name]
        assert record["value"] is None
        assert record["reason"] == f"no app at {tmp_path / 'app.py'} (name the app's app.py with --app)"


def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--sessions", "0"])
    assert exit_info.value.code == 2
    assert "--sessions must be 1 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--quick", "--smoke"])
    assert exit_info.value.code == 2


def test_generated_programs_have_the_shape_the_figures_assume(tmp_path: Path) -> None:
    # Cell lessons: one step per work cell plus the setup; the 10x sibling has 10x the statements.
    small = trace(write_program(tmp_path, "small.py", cell_lesson(10)))
    large = trace(write_program(tmp_path, "large.py", cell_lesson(100)))
    assert (small["mode"], len(small["steps"]), small["status"]) == ("cells", 11, "ok")
    assert len(large["steps"]) == 101

    def statements(transcript: dict[str, object]) -> int:
        return sum(e["kind"] == "sql" for s in transcript["steps"] for e in s["events"])  # type: ignore[attr-defined,index]

    assert 8 <= statements(large) / statements(small) <= 10
    lines = trace(write_program(tmp_path, "script.py", line_script(3)))
    assert (lines["mode"], lines["status"]) == ("lines", "ok")
    reference = trace(write_program(tmp_path, "reference.py", reference_workload(10)))
    kinds = {e.get("cause", "") for s in reference["steps"] for e in s["events"] if e["kind"] == "sql"}
    assert reference["status"] == "ok"
    assert any(kind.startswith("lazy load") for kind in kinds), kinds


def _capacity_report(curve: list[dict[str, object]]) -> dict[str, object]:
    return {
        "machine": {"cpus": 2, "load": [1.0, 1.0, 1.0]},
        "figures": {"readers_at_250ms_p95": {"value": 100, "details": {"goal_ms": 250.0, "curve": curve}}},
    }


def test_the_capacity_curve_is_drawn_as_a_png(tmp_path: Path) -> None:
    from benchmarks.plot import main

    level = {"p50_ms": 30.0, "p95_ms": 120.0, "server_cpu_cores": 0.8, "server_rss_mib": 300.0}
    curve = [{"readers": 50, **level}, {"readers": 100, **level, "p95_ms": 400.0}]
    report = tmp_path / "report.json"
    report.write_text(json.dumps(_capacity_report(curve)))
    assert main([str(report), str(tmp_path / "curve.png")]) == 0
    assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")


def test_a_report_without_a_curve_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.plot import main

    report = tmp_path / "report.json"
    report.write_text(json.dumps(_capacity_report([])))
    assert main([str(report), str(tmp_path / "curve.png")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main([]) == 2


def test_capacity_reads_lesson_lengths_from_stored_transcripts(tmp_path: Path) -> None:
    from benchmarks.capacity import lesson_steps, wait_for_files

    plain = {"source": "01_a.py", "options": {"expire_on_commit": None, "autoflush": None}, "steps": [{}, {}]}
    switched = {**plain, "options": {"expire_on_commit": False, "autoflush": None}, "steps": [{}]}
    (tmp_path / "1.json").write_text(json.dumps({"transcript": plain}))
    (tmp_path / "2.json").write_text(json.dumps({"transcript": switched}))
    (tmp_path / "3.json").write_text("cut sho")
    assert lesson_steps(tmp_path) == {"01_a": 2}
    assert wait_for_files(tmp_path, 3, timeout=5) is not None
    assert wait_for_files(tmp_path, 4, timeout=5, settle=0.5) is not None  # no new file: settled
    assert wait_for_files(tmp_path / "none", 1, timeout=0.5) is None


def test_the_command_line_figure_runs_sqlecho_compiled_as_an_install_is(tmp_path: Path) -> None:
    package = tmp_path / "package"
    package.mkdir()
    (package / "module.py").write_text("VALUE = 1\n", encoding="utf-8")
    compile_package(package)
    assert [path.name.split(".")[0] for path in (package / "__pycache__").iterdir()] == ["module"]
