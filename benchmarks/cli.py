"""What the command line adds to running a lesson: ``python -m sqlecho trace LESSON`` beside
``python LESSON``, each a fresh interpreter, as a reader types them.

The two commands run in pairs, in alternating order (so that a slow moment of the machine falls
on both alike), and the figure is the median of the pairs' ratios. The traced run pays for a
second interpreter (the sandboxed worker that runs the program) and for tracing; its parent
imports neither SQLAlchemy nor SQLModel (tests/test_layers.py keeps it so), so the worker's
imports are the only ones on the way.

sqlecho's bytecode is written first (:func:`compile_package`), as installing the package does:
the libraries both runs import (SQLAlchemy, SQLModel) were compiled when pip installed them, and
a checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (or seen read-only, as the sandbox sees it)
would otherwise compile every sqlecho module from source on every run, in both processes.
"""

from __future__ import annotations

import compileall
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .stats import Figure, median

__all__ = ["FIGURES", "CliPlan", "compile_package", "measure_cli"]

FIGURES = ["cli_overhead", "cli_trace_ms_p50", "cli_plain_ms_p50"]
_ROOT = Path(__file__).resolve().parent.parent
LESSON = _ROOT / "lessons" / "04_expire_on_commit.py"


@dataclass(frozen=True)
class CliPlan:
    pairs: int = 9
    """Paired runs measured (after one unmeasured pair, which fills the file cache)."""


def _wall_s(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} exited with {done.returncode}: {done.stderr[-300:]!r}")
    return elapsed


def compile_package(package: Path = _ROOT / "sqlecho") -> None:
    """Write the bytecode of ``package``'s modules (``__pycache__``), as ``pip install`` does."""
    compileall.compile_dir(package, quiet=1)


def measure_cli(plan: CliPlan, lesson: Path = LESSON) -> list[Figure]:
    """Time ``python -m sqlecho trace LESSON`` against ``python LESSON`` in alternating pairs."""
    compile_package()
    traced_argv = [sys.executable, "-m", "sqlecho", "trace", str(lesson)]
    plain_argv = [sys.executable, str(lesson)]
    traced: list[float] = []
    plain: list[float] = []
    for pair in range(plan.pairs + 1):
        order = [(traced_argv, traced), (plain_argv, plain)]
        if pair % 2:
            order.reverse()
        times = {id(sink): _wall_s(argv) for argv, sink in order}
        if pair:  # the first pair warms the file cache and is not counted
            for _argv, sink in order:
                sink.append(times[id(sink)])
    ratios = [t / p for t, p in zip(traced, plain, strict=True)]
    details = {
        "lesson": lesson.name,
        "trace_ms": [round(t * 1000, 1) for t in traced],
        "plain_ms": [round(p * 1000, 1) for p in plain],
    }
    return [
        Figure(FIGURES[0], round(median(ratios), 2), details=details),
        Figure(FIGURES[1], round(median(traced) * 1000, 1)),
        Figure(FIGURES[2], round(median(plain) * 1000, 1)),
    ]
