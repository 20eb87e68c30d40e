"""How long the app takes to draw the next step of a lesson it has already traced.

Streamlit's own test driver (``streamlit.testing.v1.AppTest``) runs ``app.py`` in this process
exactly as the server would for one browser session, without a browser: the rerun for the next
step is the server-side cost of a step. A short and a long generated lesson are stepped in
turns over the same first steps (the long one is the short one with more cells after them), so
any difference between the two is the cost of the lesson's length alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stats import Figure, median, no_app, percentile, unavailable
from .workload import cell_lesson, write_program

__all__ = ["RenderPlan", "measure_step_render"]

_NAMES = ["step_render_ms_p50", "step_render_ms_p95", "step_render_growth"]
_FIRST_RUN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RenderPlan:
    short_cells: int = 5
    """Work cells of the short lesson (it has one more step: its setup)."""
    long_cells: int = 60
    rounds: int = 8
    """Times each lesson's first steps are stepped through (after one unmeasured round)."""


def _runner_settings(app_file: Path) -> dict[str, Any]:
    """The ``[runner]`` section of the app's ``.streamlit/config.toml``, as Streamlit option names.

    ``streamlit run`` reads that file; AppTest does not. Its runner settings (the garbage
    collection after every rerun, above all) change what a rerun costs, so they are applied here.
    """
    path = app_file.parent / ".streamlit" / "config.toml"
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8")).get("runner", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {f"runner.{name}": value for name, value in settings.items()}


@contextlib.contextmanager
def _app_environment(app_file: Path, lessons: Path) -> Iterator[None]:
    """The app reads its settings from the environment: point it at our lessons, in this process."""
    from streamlit import config

    options = _runner_settings(app_file)
    saved_options = {name: config.get_option(name) for name in options}
    for name, value in options.items():
        config.set_option(name, value)
    saved = {name: os.environ.get(name) for name in ("SQLECHO_LESSONS", "SQLECHO_RUNNER")}
    os.environ["SQLECHO_LESSONS"] = str(lessons)
    # The transcript is traced once, before any step is timed: where does not matter, and
    # in-process leaves no worker pool behind in the benchmark's own process.
    os.environ["SQLECHO_RUNNER"] = "in-process"
    # AppTest drives the script from this thread, which Streamlit warns about on every run. Its
    # loggers each have their own level, so each is quietened (and restored) one by one.
    loggers = [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("streamlit")
    ]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        for name, value in saved_options.items():
            config.set_option(name, value)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _step_label(app: Any) -> str:
    return next((m.value for m in app.markdown if str(m.value).startswith("**Step ")), "")


class _Reader:
    """One browser session (AppTest) that moves by page address: ``?lesson=<stem>&step=<N>``."""

    def __init__(self, app_file: Path) -> None:
        from streamlit.testing.v1 import AppTest

        self.app = AppTest.from_file(str(app_file), default_timeout=_FIRST_RUN_TIMEOUT_S)

    def show(self, stem: str, step: int, of: int) -> float:
        """Rerun at step ``step`` of lesson ``stem``; the milliseconds it took. Checks that the page
        shows "Step ``step`` of ``of``"."""
        self.app.query_params.clear()
        self.app.query_params.update({"lesson": stem, "step": str(step)})
        started = time.perf_counter()
        self.app.run(timeout=_FIRST_RUN_TIMEOUT_S)
        elapsed = (time.perf_counter() - started) * 1000
        if self.app.exception:
            raise RuntimeError(f"the app failed on lesson {stem}: {self.app.exception[0].value}")
        label = _step_label(self.app)
        if not label.startswith(f"**Step {step} of {of}**"):
            raise RuntimeError(f"{stem}: expected step {step} of {of}, the app shows {label!r}")
        return elapsed


def measure_step_render(app_file: Path, folder: Path, plan: RenderPlan) -> list[Figure]:
    """step_render_ms_p50/p95 (both lessons' steps together) and step_render_growth (long / short)."""
    if not app_file.is_file():
        return unavailable(_NAMES, no_app(app_file))
    try:
        import streamlit.testing.v1  # noqa: F401
    except ImportError as exc:
        return unavailable(_NAMES, f"streamlit is not installed ({exc})")
    lessons = folder / "render_lessons"
    lessons.mkdir(exist_ok=True)
    write_program(lessons, "01_short.py", cell_lesson(plan.short_cells))
    write_program(lessons, "02_long.py", cell_lesson(plan.long_cells))
    steps = plan.short_cells + 1
    lesson_steps = {"short": steps, "long": plan.long_cells + 1}
    times: dict[str, list[float]] = {"short": [], "long": []}
    stems = {"short": "01_short", "long": "02_long"}
    with _app_environment(app_file, lessons):
        # One session reads both lessons in turns, so that a slow moment of the machine hits both
        # alike. It moves by address rather than with the "Next" button: the rerun is the same
        # (the button only sets the step), and the address is what the sessions benchmark uses.
        reader = _Reader(app_file)
        for round_number in range(plan.rounds + 1):
            for name, stem in stems.items():
                for step in range(1, steps + 1):
                    elapsed = reader.show(stem, step, lesson_steps[name])
                    # Step 1 follows a change of lesson, which is not a step change.
                    if round_number and step > 1:
                        times[name].append(elapsed)
    both = times["short"] + times["long"]
    details = {
        "short_steps": steps,
        "long_steps": plan.long_cells + 1,
        "short_ms_p50": round(median(times["short"]), 2),
        "long_ms_p50": round(median(times["long"]), 2),
        "samples": len(both),
        "driver": "streamlit.testing.v1.AppTest, rerun at the next step's address",
    }
    return [
        Figure("step_render_ms_p50", round(median(both), 2), details=details),
        Figure("step_render_ms_p95", round(percentile(both, 95), 2)),
        Figure("step_render_growth", round(median(times["long"]) / median(times["short"]), 3)),
    ]
