"""The eager-load benchmark runs both workloads bare and captured (timings are reported, not asserted)."""

from __future__ import annotations

from sqlalchemy.orm import InstrumentedAttribute

from benchmarks.eager import _Hero, measure_eager_overhead


def test_the_benchmark_times_both_workloads_bare_and_captured() -> None:
    result = measure_eager_overhead(heroes=20, repeat=1)
    assert result["heroes"] == 20
    assert set(result["seconds"]) == {"eager bare", "eager captured", "lazy bare", "lazy captured"}
    assert all(seconds > 0 for seconds in result["seconds"].values())
    # The captures restored the relationship they watched.
    assert type(_Hero.__dict__["team"]) is InstrumentedAttribute
