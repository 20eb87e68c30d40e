"""The capture overhead benchmark runs and measures what it says (timings are reported, not asserted)."""

from __future__ import annotations

import logging

from benchmarks.capture import measure_capture_overhead


def test_the_benchmark_times_three_modes_of_the_same_workload() -> None:
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    before = (logger.handlers[:], logger.level)
    result = measure_capture_overhead(rows=50, repeat=1)
    # echo=True configures a process-wide logger: it must be left as it was.
    assert (logger.handlers, logger.level) == before
    assert result["rows"] == 50
    assert result["statements"] == 100  # one INSERT and one SELECT per row, all captured
    assert set(result["seconds"]) == {"none", "echo", "capture"}
    assert all(seconds > 0 for seconds in result["seconds"].values())
    assert "capture_vs_echo" in result
