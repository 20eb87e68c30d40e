"""The classroom's store, on a SQLite file and on PostgreSQL (the session's private cluster):
classes, joins, batched writes, the teacher's summary and CSV, authorization, retention."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sqlecho._app.classroom.codes import RateLimiter, Refused, check_nickname, matches, normal_code
from sqlecho._app.classroom.models import SchemaVersion
from sqlecho._app.classroom.recorder import Recorder
from sqlecho._app.classroom.store import (
    AnswerRecord,
    AttemptRecord,
    ClassStore,
    Membership,
    Position,
    StoreUnavailable,
    TeacherPass,
    engine_for,
    utc_now,
)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'class.db'}"
        return
    databases = request.getfixturevalue("postgres_databases")
    database = databases.acquire()
    try:
        yield database.url()
    finally:
        databases.release(database)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(url: str, clock: Clock) -> Iterator[ClassStore]:
    made = ClassStore(engine_for(url), clock=clock)
    yield made
    made.engine.dispose()


def _answer(step: int, claim: int, outcome: str, lesson: str = "04_expire_on_commit") -> AnswerRecord:
    return AnswerRecord(lesson, "abc123", step, claim, f"Question {claim}?", outcome)


def _count(store: ClassStore, sql: str) -> int:
    from sqlalchemy import text

    with store.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def _rows(store: ClassStore) -> int:
    return sum(
        _count(store, f"SELECT count(*) FROM {table}")
        for table in (
            "sqlecho_class_answer",
            "sqlecho_class_attempt",
            "sqlecho_class_student",
            "sqlecho_class",
        )
    )


def test_a_class_its_students_and_the_teacher_summary(store: ClassStore) -> None:
    info, key = store.start_class()
    assert normal_code(info.code) == info.code and info.retention_days == 30
    assert (
        _count(store, "SELECT count(*) FROM sqlecho_class WHERE key_digest = '" + key + "'") == 0
    )  # digest only
    teacher = TeacherPass(info.id, key)
    ana = store.join(info, "Ana")
    bo = store.join(info, "  Bo  ")
    assert bo.nickname == "Bo"
    written = store.write(
        [
            (ana, _answer(1, 0, "right")),
            (ana, _answer(1, 1, "wrong")),
            (bo, _answer(1, 0, "wrong")),
            (bo, _answer(1, 1, "wrong")),
            (bo, _answer(3, 0, "revealed")),
            (ana, AttemptRecord("04_expire_on_commit", "abc123", 2, False, "select == 1")),
            (ana, AttemptRecord("04_expire_on_commit", "abc123", 2, True)),
            (bo, AttemptRecord("04_expire_on_commit", "abc123", 2, False, "select == 1", code="print(1)")),
            (ana, Position("04_expire_on_commit", 3)),
            (bo, Position("04_expire_on_commit", 2)),
            (bo, Position("04_expire_on_commit", 3)),
        ]
    )
    assert written == 10  # bo's two moves are one
    summary = store.summary(teacher)
    assert summary.students == 2
    lesson = summary.lessons["04_expire_on_commit"]
    step = lesson.steps[1]
    assert (step.claims[0].right, step.claims[0].wrong, step.claims[1].wrong, step.students_wrong) == (
        1,
        1,
        2,
        2,
    )
    assert lesson.steps[3].claims[0].revealed == 1 and lesson.steps[3].students_wrong == 0
    assert summary.most_mispredicted == [("04_expire_on_commit", 1, 2)]
    exercise = lesson.exercises[2]
    assert (exercise.tried, exercise.passed, exercise.attempts, exercise.most_failed) == (
        2,
        1,
        3,
        "select == 1",
    )
    assert lesson.here_now == {3: 2}
    rows = list(csv.DictReader(io.StringIO(store.csv(teacher))))
    assert len(rows) == 8 and "code" not in rows[0]  # one row per answer and per check; no code kept
    assert {row["nickname"] for row in rows} == {"Ana", "Bo"}
    assert _count(store, "SELECT count(*) FROM sqlecho_class_attempt WHERE code IS NOT NULL") == 0


def test_code_is_kept_only_while_the_class_collects_it(store: ClassStore) -> None:
    info, key = store.start_class(collect_code=True)
    ana = store.join(info, "Ana")
    store.write([(ana, AttemptRecord("04", "v", 2, False, "select == 1", code="print(1)"))])
    store.configure(TeacherPass(info.id, key), collect_code=False)
    store.write([(ana, AttemptRecord("04", "v", 2, False, "select == 1", code="print(2)"))])
    rows = list(csv.DictReader(io.StringIO(store.csv(TeacherPass(info.id, key)))))
    assert "code" not in rows[0]  # off now: not even the earlier code is exported
    store.configure(TeacherPass(info.id, key), collect_code=True)
    rows = list(csv.DictReader(io.StringIO(store.csv(TeacherPass(info.id, key)))))
    assert [row["code"] for row in rows] == ["print(1)", ""]


def test_end_class_leaves_no_row(store: ClassStore) -> None:
    info, key = store.start_class()
    other, _ = store.start_class()
    ana = store.join(info, "Ana")
    store.write([(ana, _answer(1, 0, "wrong")), (ana, Position("04", 1))])
    before = _rows(store)
    store.end(TeacherPass(info.id, key))
    assert _rows(store) == before - 3  # the class, its student, its answer: the other class stays
    assert store.find(info.code) is None and store.find(other.code) is not None
    assert store.write([(ana, _answer(1, 0, "wrong"))]) == 0  # a write after the end is dropped
    with pytest.raises(Refused, match="does not open a class"):
        store.summary(TeacherPass(info.id, key))


def test_classes_expire_after_their_retention(store: ClassStore, clock: Clock) -> None:
    info, key = store.start_class(retention_days=2)
    store.join(info, "Ana")
    clock.now += timedelta(days=1)
    assert store.find(info.code) is not None
    store.configure(TeacherPass(info.id, key), retention_days=1)
    assert store.find(info.code) is None  # the teacher shortened it: gone now
    assert store.purge_expired() == 1 and _rows(store) == 0
    with pytest.raises(Refused, match="1 to 365 days"):
        store.start_class(retention_days=0)


def test_a_student_cannot_write_for_another_student_or_class(store: ClassStore) -> None:
    info, key = store.start_class()
    other, other_key = store.start_class()
    ana = store.join(info, "Ana")
    bo = store.join(other, "Bo")
    forged = [
        Membership(info.id, info.code, bo.student_id, "Bo", ana.key),  # ana's key, bo's id
        Membership(other.id, other.code, ana.student_id, "Ana", ana.key),  # ana, another class
        Membership(info.id, info.code, ana.student_id, "Ana", "x" * 43),  # a guessed key
        Membership(info.id, info.code, 999_999, "Nobody", ana.key),  # no such student
    ]
    assert store.write([(member, _answer(1, 0, "wrong")) for member in forged]) == 0
    assert _count(store, "SELECT count(*) FROM sqlecho_class_answer") == 0
    with pytest.raises(Refused):
        store.own_records(forged[0])
    store.write([(ana, _answer(1, 0, "wrong")), (bo, _answer(2, 0, "right"))])
    assert [row["step"] for row in store.own_records(ana)] == [2]  # her own only
    assert [row["step"] for row in store.own_records(bo)] == [3]


def test_only_the_teacher_key_opens_the_results(store: ClassStore) -> None:
    info, key = store.start_class()
    other, other_key = store.start_class()
    assert store.open_as_teacher(info.code, key) == info
    for code, guess in [
        (info.code, other_key),
        (info.code, key[:-1] + ("B" if key.endswith("A") else "A")),
        (other.code, key),
        ("NOPE-000", key),
    ]:
        assert store.open_as_teacher(code, guess) is None
    for teacher in (TeacherPass(other.id, key), TeacherPass(info.id, other_key), TeacherPass(info.id, "")):
        with pytest.raises(Refused, match="does not open a class"):
            store.summary(teacher)
        with pytest.raises(Refused):
            store.csv(teacher)
        with pytest.raises(Refused):
            store.end(teacher)
    assert store.find(info.code) is not None  # nothing was ended by the wrong keys


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("x" * 10 * 1024 * 1024, "too long"),
        ("a'); DROP TABLE x;--", "letters, digits"),
        ("<script>alert(1)</script>", "letters, digits"),
        ("   ", "Choose a nickname"),
        (None, "Choose a nickname"),
        ("a\x00b", "letters, digits"),
    ],
)
def test_a_bad_nickname_is_refused_and_nothing_is_stored(
    store: ClassStore, nickname: Any, message: str
) -> None:
    info, _ = store.start_class()
    before = _rows(store)
    with pytest.raises(Refused, match=message):
        store.join(info, nickname)
    assert _rows(store) == before
    assert _count(store, "SELECT count(*) FROM sqlecho_class_student") == 0


def test_a_taken_nickname_is_refused(store: ClassStore) -> None:
    info, _ = store.start_class()
    store.join(info, "Ana")
    with pytest.raises(Refused, match="already called ana"):
        store.join(info, "ana")


def test_the_schema_version_is_checked(store: ClassStore, url: str) -> None:
    store.start_class()
    from sqlmodel import Session, select

    with Session(store.engine) as session:
        row = session.exec(select(SchemaVersion)).one()
        session.delete(row)
        session.add(SchemaVersion(version=99))
        session.commit()
    other = ClassStore(engine_for(url))
    try:
        with pytest.raises(StoreUnavailable, match="schema version 99; this sqlecho writes 1"):
            other.find("KITE-427")
    finally:
        other.engine.dispose()


def test_a_database_that_does_not_answer_is_one_message(tmp_path: Path) -> None:
    store = ClassStore(engine_for("postgresql://nobody@127.0.0.1:1/none"))
    with pytest.raises(StoreUnavailable, match="does not answer"):
        store.start_class()
    with pytest.raises(StoreUnavailable, match="not a database URL"):
        engine_for("no url at all")


def test_the_recorder_batches_and_keeps_records_while_the_database_is_down(store: ClassStore) -> None:
    info, key = store.start_class()
    ana = store.join(info, "Ana")
    down = ClassStore(engine_for("postgresql://nobody@127.0.0.1:1/none"))
    recorder = Recorder(down, flush_s=3600)  # flushed by hand
    for step in range(5):
        recorder.add(ana, _answer(step, 0, "wrong"))
    assert recorder.flush() is False and recorder.failing and "does not answer" in recorder.failing
    recorder.store = store  # the database is back
    assert recorder.flush() is True and recorder.failing is None and recorder.written == 5
    assert len(store.own_records(ana)) == 5


def test_codes_keys_and_limits() -> None:
    assert normal_code(" kite 427 ") == "KITE-427" and normal_code("kite-427") == "KITE-427"
    assert normal_code("KITE-42") is None and normal_code("x" * 1000) is None and normal_code("'; --") is None
    assert not matches("short", "0" * 64) and check_nickname("Zoë O'Neil") == "Zoë O'Neil"
    now = [0.0]
    limits = RateLimiter(2, 60, clock=lambda: now[0])
    limits.count("tab")
    limits.count("tab")
    assert limits.blocked("tab") and not limits.blocked("other")
    now[0] = 61
    assert not limits.blocked("tab")


def test_the_classroom_modules_export_sorted_names_that_exist() -> None:
    import importlib

    for name in ("codes", "models", "store", "recorder", "hooks", "pages"):
        module = importlib.import_module(f"sqlecho._app.classroom.{name}")
        assert module.__all__ == sorted(module.__all__), name
        assert [item for item in module.__all__ if not hasattr(module, item)] == [], name


def test_records_still_waiting_are_written_when_the_server_stops(tmp_path: Path) -> None:
    """A student's last answer, queued just before the server process ends, is not lost."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'class.db'}"
    program = f"""
from sqlecho._app.classroom.recorder import recorder_for, store_for
from sqlecho._app.classroom.store import AnswerRecord
store = store_for({url!r})
info, _key = store.start_class()
ana = store.join(info, "Ana")
recorder = recorder_for({url!r})
for step in range(3):
    recorder.add(ana, AnswerRecord("04_expire_on_commit", "abc123", step, 0, "Question?", "wrong"))
"""  # and the process ends at once, well before the writer's next flush
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
    made = ClassStore(engine_for(url))
    try:
        assert _count(made, "SELECT count(*) FROM sqlecho_class_answer") == 3
    finally:
        made.engine.dispose()
