"""The lessons are numbered in learning order: none builds on a later one.

What a test can see of that order is how lessons name each other. A lesson that says "as in
lesson 9" must come after lesson 9; a lesson may point ahead ("lesson 22 will look at stale
data"), but then the sentence says that it looks ahead, so that no explanation is left to a
lesson the reader has not met yet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import LESSONS

LESSON_FILES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
NUMBERS = {int(path.name[:2]) for path in LESSON_FILES}

_REFERENCE = re.compile(
    r"(?<![-\w])[Ll]essons?\s+(\d+(?:(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+|\s+or\s+|\s+to\s+)\d+)*)"
)
_LOOKS_AHEAD = re.compile(r"\b(will|later|next)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(*`])")


def _prose(source: str) -> str:
    """The lesson's comment text (narrative, SQLite notes, code comments) as one string."""
    lines = (
        re.sub(r"^\s*#\s?(>\s?)?", "", line) for line in source.splitlines() if line.lstrip().startswith("#")
    )
    return " ".join(line for line in lines if not line.startswith("%%"))


def references(text: str) -> list[tuple[int, str]]:
    """(lesson number, the sentence naming it) for every "lesson N" / "lessons N and M" in ``text``."""
    found = []
    for sentence in _SENTENCE_END.split(text):
        for match in _REFERENCE.finditer(sentence):
            # "lessons 2 to 4" names 2, 3 and 4: each "to" fills in the numbers between its ends.
            parts = re.split(r"\s+to\s+", match[1])
            numbers = [int(n) for n in re.findall(r"\d+", parts[0])]
            for part in parts[1:]:
                following = [int(n) for n in re.findall(r"\d+", part)]
                numbers += range(numbers[-1] + 1, following[0]) if numbers and following else []
                numbers += following
            found.extend((number, sentence) for number in numbers)
    return found


def test_references_are_read_from_sentences() -> None:
    text = "As in lesson 4. Lessons 2 to 4 and lesson 9, later, say more. See lessons 1, 3 and 5 to 7."
    assert [n for n, _ in references(text)] == [4, 2, 3, 4, 9, 1, 3, 5, 6, 7]
    assert references(text)[-1][1] == "See lessons 1, 3 and 5 to 7."


def test_the_lessons_are_numbered_one_to_n_without_a_gap() -> None:
    assert [int(path.name[:2]) for path in LESSON_FILES] == list(range(1, len(LESSON_FILES) + 1))


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda path: path.stem)
def test_a_lesson_builds_only_on_earlier_lessons(path: Path) -> None:
    own = int(path.name[:2])
    for number, sentence in references(_prose(path.read_text(encoding="utf-8"))):
        assert number in NUMBERS, f"lesson {number} does not exist: {sentence!r}"
        assert number != own, f"a lesson that names itself by number: {sentence!r}"
        if number > own:
            assert _LOOKS_AHEAD.search(sentence), (
                f"lesson {own} leans on the later lesson {number}; explain it here, or say that the "
                f"sentence looks ahead ('lesson {number} will ...'): {sentence!r}"
            )


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda path: path.stem)
def test_a_reference_to_a_lesson_stays_on_one_line(path: Path) -> None:
    # "lesson" at the end of a line and its number on the next hides the reference from a search
    # (and from whoever renumbers the lessons).
    split = re.findall(r"\b[Ll]essons?\n#\s*>?\s*\d+", path.read_text(encoding="utf-8"))
    assert not split, split


@pytest.mark.parametrize("name", ["GLOSSARY.md", "README.md"])
def test_the_glossary_and_the_list_name_lessons_that_exist(name: str) -> None:
    for number, sentence in references((LESSONS / name).read_text(encoding="utf-8")):
        assert number in NUMBERS, f"lesson {number} does not exist: {sentence!r}"
