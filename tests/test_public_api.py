"""The public names are exactly these: anything else is private and may change."""

from __future__ import annotations

import types

import sqlecho
import sqlecho.testing


def _public(module: types.ModuleType) -> set[str]:
    """Names a user could import from ``module``, submodules left out."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def test_sqlecho_all() -> None:
    assert sqlecho.__all__ == [
        "TRANSCRIPT_VERSION",
        "Capture",
        "ObjectState",
        "TraceOptions",
        "__version__",
        "capture",
        "trace",
        "trace_source",
    ]
    assert _public(sqlecho) == set(sqlecho.__all__) - {"__version__"}


def test_sqlecho_testing_all() -> None:
    assert sqlecho.testing.__all__ == [
        "AtLeast",
        "AtMost",
        "NPlusOne",
        "NoSQL",
        "SQLAssertionError",
        "assert_count",
        "assert_no_n_plus_one",
        "assert_sql",
        "n_plus_one_report",
        "no_sql",
    ]
    assert _public(sqlecho.testing) == set(sqlecho.testing.__all__)
