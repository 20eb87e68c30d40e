"""The terminal transcript: bounded by the program, whatever the steps claim."""

from __future__ import annotations

from sqlecho._render.text import format_transcript


def _step(index: int, lines: list[int]) -> dict[str, object]:
    return {
        "index": index,
        "title": None,
        "narrative": "",
        "lines": lines,
        "events": [],
        "objects": [],
        "error": None,
    }


def test_code_lines_per_step_are_capped_and_the_rest_counted() -> None:
    source = "\n".join(f"x{number} = {number}" for number in range(1, 20_001))
    steps = [_step(index, [1, 20_000]) for index in range(50)]
    text = format_transcript({"steps": steps, "status": "ok"}, source)
    assert text.count("| ... 19940 more lines") == 50
    assert len(text.splitlines()) < 50 * 70
    assert "  60 | x60 = 60" in text and "  61 | x61 = 61" not in text


def test_a_short_step_shows_all_its_lines() -> None:
    text = format_transcript({"steps": [_step(0, [2, 3])], "status": "ok"}, "a = 1\nb = 2\nc = 3\n")
    assert "   2 | b = 2\n   3 | c = 3" in text and "more lines" not in text
