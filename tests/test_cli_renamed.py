"""A lesson's old file name on the command line says where the lesson is now."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlecho._cli import main
from sqlecho._files import FileRefused, read_program
from tests.helpers import LESSONS


def test_an_old_lesson_file_name_names_the_new_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(LESSONS / "23_execute_exec_scalars.py")]) == 2
    assert capsys.readouterr().err == (
        f"sqlecho: no such file: {LESSONS / '23_execute_exec_scalars.py'} "
        f"(this lesson is now {LESSONS / '08_execute_exec_scalars.py'})\n"
    )


def test_a_missing_file_with_an_old_name_but_no_new_file_is_just_missing(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match=r"^no such file: .*23_execute_exec_scalars\.py$"):
        read_program(tmp_path / "23_execute_exec_scalars.py")
