"""Every lesson of the curriculum opens in the app and every one of its steps draws cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import LESSONS, ROOT

LESSON_FILES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_LESSONS", str(LESSONS))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")  # the lessons are ours: no sandbox needed


@pytest.mark.skipif(not LESSON_FILES, reason="no lessons in lessons/ yet")
@pytest.mark.parametrize("lesson", LESSON_FILES, ids=lambda path: path.stem)
def test_every_step_of_the_lesson_draws(lesson: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(lesson=lesson.stem, step="1", predict="0")  # every step drawn whole
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning and not at.error, [w.value for w in [*at.warning, *at.error]]
    counter = next(m.value for m in at.markdown if m.value.startswith("**Step "))
    count = int(counter.split()[3].rstrip("*"))
    for step in range(2, count + 1):
        at.button(key="next").click().run()
        assert not at.exception, (step, [e.value for e in at.exception])
        assert at.query_params == {"lesson": lesson.stem, "step": str(step), "predict": "0"}
        html = "\n".join(element.value for element in at.get("html"))
        assert '<div class="sqe-h">What happened' in html and '<div class="sqe-h">Objects' in html


def test_a_link_to_a_lesson_s_old_stem_opens_it_under_its_new_one_at_the_same_step() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(lesson="23_execute_exec_scalars", step="3", predict="0")
    at.run()
    assert not at.exception and not at.warning and not at.error
    assert at.title[0].value == "execute(), exec() and scalars(): rows or objects?"
    counter = next(m.value for m in at.markdown if m.value.startswith("**Step "))
    assert counter.startswith("**Step 3 of ")
    assert at.query_params == {"lesson": "08_execute_exec_scalars", "step": "3", "predict": "0"}
