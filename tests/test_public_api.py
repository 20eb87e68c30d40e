"""The public names are exactly these: anything else is private and may change."""

from __future__ import annotations

import types

import pytest

import sqlecho
import sqlecho.testing


def _public(module: types.ModuleType) -> set[str]:
    """Names a user could import from ``module`` (loaded ones and lazy ones), submodules left out."""
    return {
        name
        for name in dir(module)
        if not name.startswith("_") and not isinstance(getattr(module, name), types.ModuleType)
    }


def test_sqlecho_all() -> None:
    assert sqlecho.__all__ == [
        "Capture",
        "ObjectState",
        "TRANSCRIPT_VERSION",
        "TraceOptions",
        "__version__",
        "capture",
        "load_ipython_extension",
        "show",
        "trace",
        "trace_source",
    ]
    assert _public(sqlecho) == set(sqlecho.__all__) - {"__version__"}


def test_sqlecho_testing_all() -> None:
    assert sqlecho.testing.__all__ == [
        "AllowNPlusOne",
        "AtLeast",
        "AtMost",
        "EmptyCaptureWarning",
        "NPlusOne",
        "NoSQL",
        "RequestCapture",
        "SQLAssertionError",
        "UnusedEagerLoad",
        "allow_n_plus_one",
        "assert_count",
        "assert_no_n_plus_one",
        "assert_no_unused_eager_loads",
        "assert_sql",
        "capture_requests",
        "n_plus_one_report",
        "no_sql",
        "unused_eager_loads",
    ]
    assert _public(sqlecho.testing) == set(sqlecho.testing.__all__)


def test_all_is_sorted_and_every_name_reports_its_public_module() -> None:
    for module in (sqlecho, sqlecho.testing):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) or callable(value):
                assert value.__module__ == module.__name__, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sqlecho.nothing  # noqa: B018
