"""Measure sqlecho's speed, scale and concurrency against the obvious baselines, in one run.

    python -m benchmarks            # the full run (a few minutes), as a table
    python -m benchmarks --quick    # under a minute: fewer rounds, 10 sessions
    python -m benchmarks --json     # one JSON document on stdout
    python -m benchmarks --smoke    # every part once, tiny: does the benchmark work here?

Every figure is printed beside its goal. A figure that cannot be measured here (no app, no
sandbox) is reported as null with the reason, never as a crash. Progress goes to stderr. The
figures, the goals and how to read them are described in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from .burners import FIGURES as BURNER_FIGURES
from .burners import BurnersPlan, measure_burners
from .capacity import FIGURES as CAPACITY_FIGURES
from .capacity import CapacityPlan, measure_capacity
from .cli import FIGURES as CLI_FIGURES
from .cli import CliPlan, measure_cli
from .deploy import FIGURES as DEPLOY_FIGURES
from .deploy import DeployPlan, measure_deploy
from .edit import FIGURES as EDIT_FIGURES
from .edit import EditPlan, measure_edit
from .export import FIGURES as EXPORT_FIGURES
from .export import ExportPlan, measure_export
from .overhead import OverheadPlan, measure_capture, measure_overhead, measure_scaling
from .postgres import FIGURES as POSTGRES_FIGURES
from .postgres import PostgresPlan, measure_postgres
from .render import RenderPlan, measure_step_render
from .runner import RunnerPlan, measure_first_trace
from .sessions import FIGURES as SESSION_FIGURES
from .sessions import SessionsPlan, measure_sessions
from .stats import Figure, Verdict, load_average, machine, unavailable
from .workload import small_lesson

__all__ = ["FULL", "GROUPS", "QUICK", "SMOKE", "Plan", "format_table", "main", "run"]

GROUPS: dict[str, list[str]] = {
    "runner": [
        "first_trace_ms_p50",
        "first_trace_ms_p95",
        "cold_trace_ms",
        "worker_rss_mib",
        "parent_rss_mib",
    ],
    "overhead": [
        "trace_overhead",
        "echo_overhead",
        "trace_minus_echo",
        "trace_overhead_cpu",
        "echo_overhead_cpu",
        "trace_overhead_gc_paused",
    ],
    "capture": ["capture_overhead"],
    "cli": list(CLI_FIGURES),
    "scaling": ["steps_scaling", "steps_scaling_lines"],
    "render": ["step_render_ms_p50", "step_render_ms_p95", "step_render_growth"],
    "export": list(EXPORT_FIGURES),
    "sessions": list(SESSION_FIGURES),
    "capacity": list(CAPACITY_FIGURES),
    "burners": list(BURNER_FIGURES),
    "postgres": list(POSTGRES_FIGURES),
    "edit": list(EDIT_FIGURES),
    "deploy": list(DEPLOY_FIGURES),
}
"""Figures by the part of the benchmark that measures them, in the order they run. The runner
goes first, so that the parent's memory is that of a process which has traced nothing itself."""


@dataclass(frozen=True)
class Plan:
    """How much work each part does."""

    name: str = "full"
    overhead: OverheadPlan = OverheadPlan()
    capture_rows: int = 2000
    capture_repeat: int = 5
    runner: RunnerPlan = RunnerPlan()
    cli: CliPlan = CliPlan()
    render: RenderPlan = RenderPlan()
    export: ExportPlan = ExportPlan()
    sessions: SessionsPlan = SessionsPlan()
    capacity: CapacityPlan = CapacityPlan()
    burners: BurnersPlan = BurnersPlan()
    postgres: PostgresPlan = PostgresPlan()
    edit: EditPlan = EditPlan()
    deploy: DeployPlan = DeployPlan()


FULL = Plan()
"""The run behind docs/benchmarks.md: 50 sessions, enough rounds for stable medians."""
QUICK = Plan(
    name="quick",
    overhead=OverheadPlan(rounds=3, warmup=1, scaling_small=10, scaling_rounds=2),
    capture_rows=500,
    capture_repeat=2,
    runner=RunnerPlan(samples=8, cold_samples=2),
    cli=CliPlan(pairs=5),
    render=RenderPlan(long_cells=30, rounds=2),
    export=ExportPlan(loads=8),
    sessions=SessionsPlan(sessions=10, steps=4, think_s=0.5, alone_rounds=2),
    capacity=CapacityPlan(steps=3),
    burners=BurnersPlan(quiet_s=5.0, loaded_s=30.0),
    postgres=PostgresPlan(samples=6),
    edit=EditPlan(samples=8),
    deploy=DeployPlan(levels=(100, 300), steps=3),
)
"""Every figure in under a minute on two cores: fewer rounds, smaller programs, 10 sessions."""

SMOKE = Plan(
    name="smoke",
    overhead=OverheadPlan(size=10, rounds=1, warmup=0, scaling_small=2, scaling_rounds=1),
    capture_rows=50,
    capture_repeat=1,
    runner=RunnerPlan(samples=2, cold_samples=1),
    cli=CliPlan(pairs=1),
    render=RenderPlan(short_cells=2, long_cells=6, rounds=1),
    export=ExportPlan(lessons=2, loads=1),
    sessions=SessionsPlan(sessions=2, steps=3, think_s=0.1, alone_rounds=1),
    capacity=CapacityPlan(levels=(2,), steps=1, pause_s=(0.1, 0.2), warm_files=2),
    burners=BurnersPlan(
        burners=2,
        quiet_s=1.0,
        loaded_s=3.0,
        pause_s=(0.1, 0.3),
        user_limits="wall_time=2,cpu_time=1",
        warm_files=2,
    ),
    postgres=PostgresPlan(samples=1),
    edit=EditPlan(samples=2, pause_s=0.5),
    deploy=DeployPlan(levels=(2,), steps=1, pause_s=(0.1, 0.2), warm_files=2),
)
"""Every part once, as small as it gets: checks that the benchmark works, measures nothing."""


def _default_app() -> Path:
    """``app.py`` of the source checkout this package lives in."""
    return Path(__file__).resolve().parent.parent / "app.py"


def _measurements(plan: Plan, folder: Path, app: Path) -> dict[str, Callable[[], list[Figure]]]:
    return {
        "runner": lambda: measure_first_trace(folder, small_lesson(), plan.runner),
        "overhead": lambda: measure_overhead(folder, plan.overhead),
        "capture": lambda: measure_capture(plan.capture_rows, plan.capture_repeat),
        "cli": lambda: measure_cli(plan.cli),
        "scaling": lambda: measure_scaling(folder, plan.overhead),
        "render": lambda: measure_step_render(app, folder, plan.render),
        "export": lambda: measure_export(folder, plan.export),
        "sessions": lambda: measure_sessions(app, folder, plan.sessions),
        "capacity": lambda: measure_capacity(app, folder, plan.capacity),
        "burners": lambda: measure_burners(app, folder, plan.burners),
        "postgres": lambda: measure_postgres(folder, small_lesson(), plan.postgres),
        "edit": lambda: measure_edit(app, folder, plan.edit),
        "deploy": lambda: measure_deploy(app, folder, plan.deploy),
    }


def run(
    plan: Plan, app: Path, groups: Sequence[str] = tuple(GROUPS), progress: TextIO | None = None
) -> dict[str, Any]:
    """Run the chosen parts of the benchmark and return the report (the ``--json`` document).

    A part that fails reports its figures as null, with the error as the reason.
    """
    started = time.perf_counter()
    info = machine()
    figures: dict[str, Figure] = {}
    with tempfile.TemporaryDirectory(prefix="sqlecho-bench-") as scratch:
        measurements = _measurements(plan, Path(scratch), app)
        for group in groups:
            if progress is not None:
                print(f"measuring {group} ...", file=progress, flush=True)
            part_started = time.perf_counter()
            try:
                measured = measurements[group]()
            except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others
                measured = unavailable(GROUPS[group], f"failed: {type(exc).__name__}: {exc}")
            figures.update((figure.name, figure) for figure in measured)
            if progress is not None:
                print(f"  {group}: {time.perf_counter() - part_started:.1f} s", file=progress, flush=True)
    names = [name for group in groups for name in GROUPS[group]]
    for name in names:  # every figure of a chosen part appears, measured or not
        figures.setdefault(name, Figure(name, None, reason="not reported by its measurement"))
    return {
        "version": 1,
        "plan": plan.name,
        "machine": {**info, "load_end": load_average()},
        "duration_s": round(time.perf_counter() - started, 1),
        "figures": {name: figures[name].as_json() for name in names},
        "misses": [name for name in names if figures[name].verdict is Verdict.MISS],
    }


def _value(record: dict[str, Any]) -> str:
    value = record["value"]
    if value is None:
        return "null"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {record['unit']}".strip()


def format_table(report: dict[str, Any]) -> str:
    """The report as a table for a terminal: figure, value, goal, result, what it is."""
    info = report["machine"]
    lines = [
        f"sqlecho benchmark ({report['plan']}) · {info['cpus']} CPUs · {info['memory_gib']} GiB · "
        f"Python {info['python']} · SQLAlchemy {info['sqlalchemy']} · {info['date']} · "
        f"{report['duration_s']} s · load average {info['load']} -> {info['load_end']}",
        "",
    ]
    rows = [("figure", "value", "goal", "result", "about")]
    notes = []
    for name, record in report["figures"].items():
        rows.append((name, _value(record), record["goal"] or "", record["verdict"], record["about"]))
        if record.get("reason"):
            notes.append(f"{name}: {record['reason']}")
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4]
        )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer rounds and sessions: under a minute")
    size.add_argument("--smoke", action="store_true", help="every part once, tiny: checks the benchmark runs")
    parser.add_argument(
        "--only",
        metavar="PART",
        action="append",
        choices=list(GROUPS),
        help="run only this part (repeatable)",
    )
    parser.add_argument("--app", type=Path, default=None, help="the app's app.py (default: the checkout's)")
    parser.add_argument("--sessions", type=int, metavar="N", help="concurrent app sessions")
    parser.add_argument("--lessons", type=int, metavar="K", help="different lessons among the sessions")
    parser.add_argument("--think", type=float, metavar="S", help="mean pause between a session's steps")
    parser.add_argument(
        "--stepping",
        choices=["browser", "server"],
        help="how the deployment's lesson page steps (deploy part; default: deploy/serve.py's)",
    )
    parser.add_argument(
        "--server-option",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a Streamlit setting for the app server, e.g. runner.postScriptGC=false (repeatable)",
    )
    return parser


def _plan(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Plan:
    """The plan the options ask for; a usage error (exit status 2) for values that make no sense."""
    plan = QUICK if args.quick else SMOKE if args.smoke else FULL
    sessions = plan.sessions
    if args.sessions is not None:
        if args.sessions < 1:
            parser.error("--sessions must be 1 or more")
        sessions = replace(sessions, sessions=args.sessions)
    if args.lessons is not None:
        if args.lessons < 1:
            parser.error("--lessons must be 1 or more")
        sessions = replace(sessions, lessons=args.lessons)
    if args.think is not None:
        if args.think < 0:
            parser.error("--think must be 0 or more")
        sessions = replace(sessions, think_s=args.think)
    options = []
    for option in args.server_option:
        name, equals, value = option.partition("=")
        if not equals or not name:
            parser.error(f"--server-option wants NAME=VALUE, got {option!r}")
        options.append((name, value))
    if options:
        sessions = replace(sessions, server_options=tuple(options))
    deploy = replace(plan.deploy, stepping=args.stepping) if args.stepping else plan.deploy
    return replace(plan, sessions=sessions, deploy=deploy)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks``; returns the exit status (0: the run finished,
    whatever its figures; 2: a usage problem)."""
    parser = _parser()
    args = parser.parse_args(argv)
    plan = _plan(args, parser)
    app = args.app or _default_app()
    groups = [group for group in GROUPS if not args.only or group in args.only]
    report = run(plan, app, groups, progress=sys.stderr)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
