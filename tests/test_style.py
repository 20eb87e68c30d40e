"""The package says what its values are: ``typing.Any`` stays rare.

``Any`` switches the type checker off for a value, so a wrong key of a transcript record or a
misspelled attribute passes unseen. The package uses the transcript's own types
(:mod:`sqlecho.transcript`), precise library types, or ``object`` for a value it only passes on;
``Any`` is left where a library hands over something untyped (a DBAPI connection's arguments, a
pytest hook's outcome). The bound below is a ceiling, not a goal: lower it when the count drops.
"""

from __future__ import annotations

import io
import tokenize
from collections import Counter
from pathlib import Path

from tests.helpers import ROOT

MAX_ANY = 150
"""``Any`` tokens allowed in the package, imports included (about 10 per 1,000 lines)."""


def any_tokens(package: Path) -> Counter[str]:
    """How many ``Any`` name tokens each module of ``package`` has (not in comments or strings)."""
    found: Counter[str] = Counter()
    for path in sorted(package.rglob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        found[str(path.relative_to(package.parent))] += sum(
            1 for token in tokens if token.type == tokenize.NAME and token.string == "Any"
        )
    return +found


def test_the_counter_sees_names_only(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(
        'from typing import Any\n# Any in a comment\nx: Any = "Any in a string"\nAnyway = 1\n',
        encoding="utf-8",
    )
    assert any_tokens(package) == Counter({"pkg/a.py": 2})


def test_any_stays_under_its_bound() -> None:
    counts = any_tokens(ROOT / "sqlecho")
    most = ", ".join(f"{path} {n}" for path, n in counts.most_common(5))
    assert sum(counts.values()) < MAX_ANY, f"{sum(counts.values())} Any tokens (most in {most})"
