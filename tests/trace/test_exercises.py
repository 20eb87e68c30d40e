"""Every exercise tells right from wrong: its starter fails, the lesson's solution passes, its wrong
variants fail, its alternative passes, and cheats fail (docs/exercises.md, "Exercise files").

Each variant replaces the exercise cell's code in the lesson, the lesson runs in this process,
and the exercise is graded on the step with its title, as ``python -m sqlecho check --against``
would grade a student's file. The cheats are written here, the same for every exercise: print
what the solution printed and send nothing; send two unrelated SELECTs and print it; send an
UPDATE that matches no row and print it.
"""

from __future__ import annotations

import functools
import gc
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqlecho._grade import ExerciseResult, exercises_of, grade
from sqlecho._trace.exercises import Exercise, exercise_file, exercises_for, with_code
from sqlecho._trace.tracer import trace_source
from tests.helpers import LESSONS

# A wrong variant runs its lesson only up to the exercise, so the lesson's own tidy-up (closing an
# async engine's connections, joining its threads) never runs: what that leaves behind is not news.
pytestmark = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning",
    "ignore::pytest.PytestUnhandledThreadExceptionWarning",
    "ignore::ResourceWarning",
)


@pytest.fixture(scope="module", autouse=True)
def _tidy_up_after_the_cut_off_runs() -> Iterator[None]:
    """Collect, while their warnings are ignored, what the cut-off runs left (an asyncio loop and
    its sockets): otherwise the collector finds them after this module, when warnings are errors."""
    yield
    _run.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


LESSON_FILES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
CASES = [(path, exercise) for path in LESSON_FILES for exercise in exercises_for(path)]
IDS = [f"{path.stem}:{exercise.title}" for path, exercise in CASES]

# Finds the program's engine (or makes one), as a student pasting a cheat would.
_ENGINE = (
    "from sqlalchemy import create_engine as _create_engine, text as _text\n"
    "_engines = [getattr(_v, 'sync_engine', _v) for _v in list(globals().values())"
    " if type(_v).__name__ in ('Engine', 'AsyncEngine')]\n"
    "_engine = _engines[0] if _engines else _create_engine('sqlite://')\n"
)


def cheats(printed: list[str], table: str) -> dict[str, str]:
    """The three cheats for an exercise whose solution printed ``printed`` and wrote to ``table``."""
    prints = "".join(f"print({line!r})\n" for line in printed) or "print('done')\n"
    return {
        "prints the expected text": prints,
        "unrelated SELECTs": _ENGINE
        + "with _engine.connect() as _c:\n    _c.execute(_text('SELECT 1'))\n    _c.execute(_text('SELECT 2'))\n"
        + prints,
        "an UPDATE that matches no row": _ENGINE
        + f"with _engine.begin() as _c:\n    _c.execute(_text('UPDATE {table} SET id = id WHERE 1 = 0'))\n"
        + prints,
    }


@functools.cache
def _run(path: Path, source: str) -> tuple[dict[str, Any], str]:
    return dict(trace_source(source, path, source_name=f"lessons/{path.name}")), source


def graded(
    path: Path, exercise: Exercise, code: str | None, *, whole: bool = True
) -> tuple[ExerciseResult, bool]:
    """The exercise graded on the lesson with ``code`` in its cell (None: the lesson as it is),
    and whether the program ran to its end. ``whole=False`` runs the lesson only up to the
    exercise: what comes after cannot change the verdict, and a wrong answer may break it."""
    lesson = path.read_text(encoding="utf-8")
    if not whole:
        lesson = "\n".join(lesson.splitlines()[: exercise.lines[1]]) + "\n"
    source = lesson if code is None else with_code(lesson, exercise.lines, code)
    transcript, source = _run(path, source)
    checks = [found for found in exercises_of(lesson, path.name) if found.title == exercise.title]
    report = grade(checks, transcript, file=path.name, source=source)
    if not whole:
        gc.collect()  # what the cut-off tidy-up left open goes now, while its warnings are ignored
    return report.results[0], report.status == "ok"


def _solution_step(path: Path, exercise: Exercise) -> dict[str, Any]:
    transcript, _ = _run(path, path.read_text(encoding="utf-8"))
    return next(step for step in transcript["steps"] if step["title"] == exercise.title)


def test_every_exercise_has_its_variants() -> None:
    assert len(CASES) >= 28
    for path, exercise in CASES:
        where = f"{path.stem}: {exercise.title}"
        assert exercise_file(path).exists(), f"{where}: no {exercise_file(path).name}"
        assert exercise.task and exercise.hint, f"{where}: a task and a hint"
        assert exercise.starter, f"{where}: a starter"
        assert len(exercise.wrong) >= 2, f"{where}: two wrong variants"
        assert exercise.alternative, f"{where}: a different right answer"
        assert exercise.starter != exercise.solution


@pytest.mark.parametrize(("path", "exercise"), CASES, ids=IDS)
def test_the_solution_and_the_alternative_pass(path: Path, exercise: Exercise) -> None:
    result, ended = graded(path, exercise, None)
    assert result.passed and ended, result.failures()
    for code in exercise.alternative:
        result, ended = graded(path, exercise, code)
        assert result.passed and ended, f"the alternative fails: {result.failures()}\n{code}"


@pytest.mark.parametrize(("path", "exercise"), CASES, ids=IDS)
def test_the_starter_and_the_wrong_variants_fail(path: Path, exercise: Exercise) -> None:
    for role, code in [("starter", exercise.starter), *(("wrong", code) for code in exercise.wrong)]:
        result, _ = graded(path, exercise, code, whole=False)
        assert not result.passed, f"the {role} passes:\n{code}"
        assert result.failures(), "a failure says why"


@pytest.mark.parametrize(("path", "exercise"), CASES, ids=IDS)
def test_cheats_fail(path: Path, exercise: Exercise) -> None:
    step = _solution_step(path, exercise)
    printed = "".join(e["text"] for e in step["events"] if e["kind"] == "output").splitlines()
    table = next(iter(step["tables"]), "sqlite_master")
    for name, code in cheats(printed, table).items():
        result, _ = graded(path, exercise, code, whole=False)
        assert not result.passed, f"the cheat “{name}” passes:\n{code}"


# Student submissions written apart from the exercise files (other right answers, other mistakes,
# other cheats), for the lessons whose grading was weakest: the grader must tell them apart too.
SUBMISSIONS: dict[str, list[tuple[bool, str]]] = {  # lesson: (passes?, the exercise cell's code)
    "06_closing_the_session": [
        (
            True,
            'moons = Book(title="Paper Moons", year=2023)\nwith Session(engine) as session:\n    session.expire_on_commit = False\n    session.add(moons)\n    session.commit()\nprint(moons.title, moons.year, moons.id)\n',
        ),
        (
            False,
            'moons = Book(title="Paper Moons", year=2023, id=3)\nprint(moons.title, moons.year, moons.id)\n',
        ),
        (False, 'print("Paper Moons 2023 3")\n'),
    ],
    "18_lazy_loading_n_plus_1": [
        (
            True,
            'statements.clear()\nwith Session(engine) as session:\n    authors = session.exec(select(Author).order_by(Author.id).options(selectinload(Author.books))).all()\n    for a in authors:\n        print(a.name, [b.title for b in a.books])\ncounts["selectinload"] = len(statements)\n',
        ),
        (
            True,
            'from sqlalchemy.orm import subqueryload\nstatements.clear()\nwith Session(engine) as session:\n    authors = session.exec(select(Author).options(subqueryload(Author.books)).order_by(Author.id)).all()\n    for author in authors:\n        print(author.name, [book.title for book in author.books])\ncounts["selectinload"] = len(statements)\n',
        ),
        (
            False,
            'statements.clear()\nwith Session(engine) as session:\n    for author in session.exec(select(Author)).all():\n        print(author.name, [book.title for book in session.exec(select(Book).where(Book.author_id == author.id)).all()])\ncounts["selectinload"] = len(statements)\n',
        ),
        (
            False,
            'from sqlalchemy import text\nwith engine.connect() as c:\n    c.execute(text("SELECT name FROM author"))\nprint("Ada Quill")\ncounts["selectinload"] = 2\n',
        ),
    ],
    "26_async_sessions": [
        (
            True,
            'async def authors_with_books() -> None:\n    result = await session.exec(select(Author).options(selectinload(Author.books)).order_by(Author.id))\n    for author in result.all():\n        print(author.name, "wrote", sorted(book.title for book in author.books))\n\n\nrun(authors_with_books())\n',
        ),
        (False, "print(\"Ada Quill wrote ['The Lantern Map', 'A Quiet Orbit']\")\n"),
        (
            False,
            'async def f() -> None:\n    await session.exec(select(Book))\n    await session.exec(select(Book))\n    print("done")\n\n\nrun(f())\n',
        ),
    ],
    "28_unique_constraints": [
        (
            True,
            'def get_or_create(name: str) -> Genre:\n    found = session.exec(select(Genre).where(Genre.name == name)).all()\n    if found:\n        return found[0]\n    genre = Genre(name=name)\n    session.add(genre)\n    session.flush()\n    return genre\n\n\nprint([get_or_create(name).id for name in ["Poetry", "Mystery"]])\n',
        ),
        (False, "print([1, 2])\n"),
        (
            False,
            'from sqlalchemy import text\nsession.execute(text("UPDATE genre SET name = name WHERE 1 = 0"))\nsession.execute(text("SELECT 1"))\nsession.execute(text("SELECT 2"))\nprint([1, 2])\n',
        ),
    ],
    "14_orm_update_delete": [
        (
            True,
            "session.exec(update(Book).where(Book.year > 2020).values(copies=5))\nprint({book.title: book.copies for book in (lantern, orbit, moons)})\n",
        ),
        (
            False,
            "session.exec(update(Book).where(Book.year > 2020).values(copies=5).execution_options(synchronize_session=False))\nprint({book.title: book.copies for book in (lantern, orbit, moons)})\n",
        ),
        (
            False,
            'session.exec(update(Book).where(Book.year > 3000).values(copies=5))\nprint({"The Lantern Map": 2, "A Quiet Orbit": 0, "Paper Moons": 5})\n',
        ),
    ],
    "29_concurrency": [
        (True, "locked = desk.get(Book, 1, with_for_update=True)\nlocked.copies -= 1\ndesk.commit()\n"),
        (
            False,
            "book = desk.exec(select(Book).where(Book.id == 1)).one()\nbook.copies = book.copies - 1\ndesk.commit()\n",
        ),
        (
            False,
            'from sqlalchemy import text\ndesk.execute(text("SELECT 1 FOR UPDATE")) if False else None\ndesk.execute(text("UPDATE book SET copies = copies WHERE id = 99"))\ndesk.execute(text("SELECT 1"))\ndesk.commit()\n',
        ),
    ],
}
STUDENTS = [(stem, passes, code) for stem, cases in SUBMISSIONS.items() for passes, code in cases]


@pytest.mark.parametrize(
    ("stem", "passes", "code"), STUDENTS, ids=[f"{s}-{n}" for n, (s, _, _) in enumerate(STUDENTS)]
)
def test_student_submissions_get_the_right_verdict(stem: str, passes: bool, code: str) -> None:
    path = LESSONS / f"{stem}.py"
    [exercise] = exercises_for(path)
    result, _ = graded(path, exercise, code, whole=False)
    assert result.passed is passes, result.failures()
