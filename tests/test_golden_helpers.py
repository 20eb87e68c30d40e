"""The golden-file helper both lesson suites use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden_helpers import check_golden, check_no_orphans

COMMAND = "python -m pytest tests/trace/test_lessons.py --update-goldens"


def test_a_golden_is_written_then_matched(tmp_path: Path) -> None:
    golden = tmp_path / "postgresql" / "04_lesson.json"
    check_golden(golden, "{}\n", True, COMMAND)
    assert golden.read_text(encoding="utf-8") == "{}\n"
    check_golden(golden, "{}\n", False, COMMAND)


def test_a_changed_or_missing_golden_fails_naming_the_command(tmp_path: Path) -> None:
    golden = tmp_path / "04_lesson.json"
    with pytest.raises(AssertionError, match="no golden transcript 04_lesson.json: run python -m pytest"):
        check_golden(golden, "{}\n", False, COMMAND)
    golden.write_text("[]\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="transcript changed; review, then run python -m pytest"):
        check_golden(golden, "{}\n", False, COMMAND)


def test_an_orphan_golden_fails_and_is_removed_on_update(tmp_path: Path) -> None:
    (tmp_path / "01_kept.json").write_text("{}", encoding="utf-8")
    (tmp_path / "02_gone.json").write_text("{}", encoding="utf-8")
    with pytest.raises(AssertionError, match="02_gone.json"):
        check_no_orphans(tmp_path, ["01_kept"], False)
    check_no_orphans(tmp_path, ["01_kept"], True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["01_kept.json"]
