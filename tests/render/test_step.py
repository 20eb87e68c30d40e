"""A whole step as the page's blocks: composition, the shared render cache, and its timing."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import pytest

from benchmarks.draw import time_render
from sqlecho import TraceOptions
from sqlecho._app.traces import TraceCache, render_step
from sqlecho._render.diff import StepDiff
from sqlecho._render.events import render_events
from sqlecho._render.plain import md_no_remote_images
from sqlecho._render.step import Traced, diff_summary, draw_step, narrative_text
from sqlecho._trace.tracer import in_process, trace_source
from tests.helpers import FIXTURES

LESSON = FIXTURES / "lessons" / "01_first_steps.py"


@pytest.fixture(scope="module")
def traced() -> Traced:
    return TraceCache(in_process).trace(LESSON.read_text(), LESSON, TraceOptions(), LESSON.name)


def test_a_step_has_code_events_objects_and_database_blocks(traced: Traced) -> None:
    blocks = draw_step(traced, 4)  # "Autoflush before a query"
    assert blocks.code.startswith('<div class="sqe-h">Code <span class="sqe-note">lines 41–44 · 2 statements')
    assert blocks.events.startswith(
        '<div class="sqe-h">What happened <span class="sqe-note">in order</span></div>'
    )
    assert blocks.events.endswith(render_events(traced.steps[4]))  # no error on this step
    assert 'class="sqe-cause sqe-cause-autoflush"' in blocks.events
    assert '<span class="sqe-tag sqe-tag-new">first seen</span>' in blocks.objects  # Hero#3 appears
    assert "identity map" in blocks.database
    assert '<div class="sqe-h">Database <span class="sqe-note">committed rows' in blocks.database


def test_a_failing_step_ends_with_its_error(traced: Traced) -> None:
    blocks = draw_step(traced, 7)
    assert blocks.events.endswith("</div></div>") and 'class="sqe-err sqe-expected"' in blocks.events


def test_compared_steps_carry_their_marks_and_heading(traced: Traced) -> None:
    blocks = draw_step(traced, 3, marks=(0, 1), heading="As written")
    assert blocks.events.startswith('<div class="sqe-h">As written')
    assert blocks.events.count("only in this run") == 2


def test_rendered_steps_are_shared_between_readers(traced: Traced) -> None:
    first = render_step(traced, 2)
    assert render_step(traced, 2) is first  # the next reader gets the same HTML, not a new drawing
    assert render_step(traced, 2, heading="As written") is not first
    assert first == draw_step(traced, 2)


def test_diff_summary_lists_notes_or_says_nothing_changed() -> None:
    notes = StepDiff(0, 0, notes=("With autoflush=False this INSERT (autoflush, line 4) is gone.", "a <b>"))
    assert diff_summary(notes, "autoflush=False") == (
        '<div class="sqe-diff"><b>Compared with autoflush=False:</b><ul>'
        "<li>With autoflush=False this INSERT (autoflush, line 4) is gone.</li><li>a &lt;b&gt;</li></ul></div>"
    )
    assert diff_summary(StepDiff(0, 0), "autoflush=False") == (
        '<div class="sqe-diff sqe-same">With autoflush=False this step sends the same SQL.</div>'
    )


def test_narrative_drops_only_the_lesson_title_heading() -> None:
    step = {"narrative": "# First steps\nCreate a table.\n\n# Not the title"}
    assert narrative_text(step, "First steps") == "Create a table.\n\n# Not the title"
    assert narrative_text(step, "Other title") == step["narrative"]
    assert narrative_text({"narrative": None}) == ""


def test_time_render_measures_every_step(traced: Traced) -> None:
    timing = time_render(traced, rounds=2)
    assert timing.steps == len(traced.steps)
    assert 0 < timing.p50_ms <= timing.p95_ms <= timing.max_ms


# -- narratives from strangers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        ("![x](https://evil.example/i.png)", "!\\[x](https://evil.example/i.png)"),
        (
            "![x][ref]\n\n[ref]: https://evil.example/i.png",
            "!\\[x][ref]\n\n[ref]: https://evil.example/i.png",
        ),
        ("\\![x](https://e/i.png)", "\\!\\[x](https://e/i.png)"),  # an escaped "!" is no way round
        ("\\\\![x](https://e/i.png)", "\\\\!\\[x](https://e/i.png)"),  # nor an escaped backslash
        ("[![x](https://e/i.png)](https://e)", "[!\\[x](https://e/i.png)](https://e)"),
        ("Read [the docs](https://sqlmodel.tiangolo.com), **twice**.", None),  # links and emphasis stay
    ],
)
def test_narratives_and_titles_load_no_remote_image(markdown: str, shown: str | None) -> None:
    assert md_no_remote_images(markdown) == (markdown if shown is None else shown)


def test_drawn_steps_are_kept_by_weight(traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlecho._app import traces as _render_step

    weight = _render_step._weight(draw_step(traced, 0))
    monkeypatch.setattr(_render_step, "_RENDERED", OrderedDict())
    monkeypatch.setattr(_render_step, "_rendered_bytes", 0)
    monkeypatch.setattr(_render_step, "_RENDERED_BYTES", 8 * weight)  # step 1 is an eighth: kept
    first = render_step(traced, 0)
    assert render_step(traced, 0) is first
    for index in range(1, len(traced.steps)):
        render_step(traced, index)
    assert 0 < _render_step._rendered_bytes <= 8 * weight
    assert sum(map(_render_step._weight, _render_step._RENDERED.values())) == _render_step._rendered_bytes
    monkeypatch.setattr(_render_step, "_RENDERED_BYTES", 8 * weight - 8)  # now step 1 is too heavy
    monkeypatch.setattr(_render_step, "_RENDERED", OrderedDict())
    monkeypatch.setattr(_render_step, "_rendered_bytes", 0)
    assert render_step(traced, 0) is not render_step(traced, 0)


_PREDICTING = FIXTURES / "predict" / "01_predict.py"


def _flush_step() -> Mapping[str, Any]:
    """The traced step of a commit that flushed one pending hero, its claims in its narrative."""
    source = _PREDICTING.read_text()
    return trace_source(source, _PREDICTING, TraceOptions(), source_name=_PREDICTING.name)["steps"][1]


def test_the_narrative_before_a_prediction_keeps_the_question_not_the_expectation() -> None:
    step = _flush_step()
    assert (
        narrative_text(step, expectations=False) == "Adding a hero and committing: what reaches the database?"
    )


def test_revealed_claims_read_as_what_to_look_for_in_words_where_they_were_written() -> None:
    # The Expect: lines are the checks' grammar; a reader sees what they claim, with the line.
    step = dict(_flush_step())
    step["narrative"] = str(step["narrative"]) + "\n\nThen read on."
    text = narrative_text(step, source=_PREDICTING.read_text())
    assert "Expect:" not in text
    assert text.startswith(
        "Adding a hero and committing: what reaches the database?\n\n**What to look for**\n\n- 1 INSERT"
    )
    assert text.endswith("\n\nThen read on.")
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == 3 and "line 27" in items[0] and "1 COMMIT" in items[1] and "persistent" in items[2]


def test_a_narrative_without_claims_is_left_as_written() -> None:
    assert narrative_text({"narrative": "What now?\n\nShows: 1 INSERT"}) == "What now?\n\nShows: 1 INSERT"
