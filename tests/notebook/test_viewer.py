"""``sqlecho.show``'s viewer: a lesson in a notebook asks before it shows, as the exported pages do."""

from __future__ import annotations

from sqlecho._notebook.viewer import viewer_bundle
from sqlecho._trace.tracer import TraceOptions
from tests.helpers import ROOT
from tests.render.test_export import in_process

LESSON = ROOT / "tests" / "fixtures" / "predict" / "01_predict.py"


def test_a_lesson_asks_its_questions_and_keeps_the_score_under_its_stem() -> None:
    source = LESSON.read_text(encoding="utf-8")
    transcript = in_process(source, LESSON, TraceOptions(), LESSON.name)
    html = viewer_bundle(transcript, source, title="Predicting", stem="01_predict")["text/html"]
    assert '"storage": "sqlecho.predict.01_predict"' in html
    assert "How many INSERT statements?" in html
    assert '<template class="sqx-answer">' in html and 'class="sqx-score"' in html
    before = html.split('data-step="2"', 1)[1].split('<template class="sqx-answer">', 1)[0]
    assert "INSERT INTO" not in before and "The commit flushed first" not in before
