"""The classroom in the app, driven through AppTest: a teacher starts a class, a student joins
with its code and a nickname, their answers reach the teacher's view; every wrong way in is
refused with one sentence and stores nothing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sqlecho._app.classroom import access, join
from sqlecho._app.classroom.codes import RateLimiter
from sqlecho._app.classroom.recorder import recorder_for, store_for
from sqlecho._app.classroom.store import ClassStore, TeacherPass, engine_for
from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "predict"
LESSON = "01_predict"
TIMEOUT = 30


@pytest.fixture
def class_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'class.db'}"
    monkeypatch.setenv("SQLECHO_CLASS_DB", url)
    monkeypatch.setenv("SQLECHO_LESSONS", str(FIXTURES))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")
    monkeypatch.delenv("SQLECHO_ALLOW_USER_CODE", raising=False)
    # Each test starts with fresh rate limits (they are per server process).
    monkeypatch.setattr(access, "_TAB_LIMITS", RateLimiter(5, 60.0))
    monkeypatch.setattr(access, "_SERVER_LIMITS", RateLimiter(200, 60.0))
    yield url
    store_for(url).engine.dispose()


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _student(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"lesson": LESSON, **params})
    return _run(at)


def _teacher(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.switch_page("app_pages/teacher.py")
    return _run(at)


def _text(at: AppTest) -> str:
    found = [*at.markdown, *at.caption, *at.error, *at.warning, *at.info, *at.success]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(e.value) for e in found)).replace("\u2060", "")


def _html(at: AppTest) -> str:
    return "\n".join(element.value for element in at.get("html"))  # type: ignore[attr-defined]


def _start(at: AppTest) -> tuple[str, str]:
    next(b for b in at.button if b.label == "Start a class").click()
    _run(at)
    code, key = at.query_params["class"], at.query_params["key"]
    assert f"Class code: `{code}`" in _text(at)
    return str(code), str(key)


def _join(at: AppTest, nickname: str) -> AppTest:
    at.text_input(key=join.NICKNAME_WIDGET).set_value(nickname)
    next(b for b in at.button if b.label == "Join the class").click()
    return _run(at)


def _rows(url: str) -> int:
    from sqlalchemy import text

    with store_for(url).engine.connect() as connection:
        return sum(
            int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("sqlecho_class_answer", "sqlecho_class_attempt", "sqlecho_class_student")
        )


def test_a_student_joins_and_the_teacher_sees_their_wrong_answer(class_db: str) -> None:
    teacher = _teacher()
    code, key = _start(teacher)
    assert "No answers yet" in _text(teacher)
    student = _student(step="2", **{"class": code.lower()})
    assert f"Join class {code}" in _text(student)
    _join(student, "Ana")
    assert f"In class **{code}** as **Ana**" in _text(student)
    assert student.query_params["class"] == code  # the address keeps the class
    student.number_input(key=f"predict_{LESSON}_1_0").set_value(1)
    student.number_input(key=f"predict_{LESSON}_1_1").set_value(2)
    student.pills(key=f"predict_{LESSON}_1_2").set_value("persistent")
    next(b for b in student.button if b.label == "Check my prediction").click()
    _run(student)
    assert "Not quite" in _text(student)
    assert recorder_for(class_db).flush()
    summary = store_for(class_db).summary(TeacherPass(store_for(class_db).find(code).id, key))  # type: ignore[union-attr]
    cells = summary.lessons[LESSON].steps[1].claims
    assert [(c.right, c.wrong) for c in sorted(cells.values(), key=lambda c: c.prompt)] == [
        (0, 1),
        (1, 0),
        (1, 0),
    ]
    assert summary.lessons[LESSON].here_now == {1: 1}
    _run(teacher)
    html = _html(teacher)
    assert 'data-step="2" data-question="2" data-wrong="1"' in html
    assert "open in presenter mode](./?lesson=01_predict&step=2&presenter=1)" in _text(teacher)


def test_the_teacher_link_opens_the_class_and_a_guessed_key_does_not(class_db: str) -> None:
    code, key = _start(_teacher())
    assert f"Class code: `{code}`" in _text(_teacher(**{"class": code, "key": key}))
    for guess in (key[:-2] + "xx", "A" * 43, "' OR 1=1 --"):
        at = _teacher(**{"class": code, "key": guess})
        assert "This teacher link does not open a class" in _text(at)
        assert "Class code" not in _text(at) and not _html(at)
    other, _other_key = _start(_teacher())
    at = _teacher(**{"class": other, "key": key})  # this class's key, another class's code
    assert "does not open a class" in _text(at) and "Class code" not in _text(at)


def test_end_class_deletes_every_record(class_db: str) -> None:
    teacher = _teacher()
    code, _key = _start(teacher)
    student = _student(step="2", **{"class": code})
    _join(student, "Ana")
    student.button(key=f"predict_{LESSON}_1_reveal").click()
    _run(student)
    assert recorder_for(class_db).flush() and _rows(class_db) == 4  # a student, 3 revealed questions
    teacher.button(key="class_end").click()
    _run(teacher)
    assert f"Class {code} has ended: all its records are deleted." in _text(teacher)
    assert _rows(class_db) == 0 and store_for(class_db).find(code) is None


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("x" * 10 * 1024 * 1024, "That nickname is too long"),
        ("x'); DROP TABLE y;--", "A nickname is letters, digits"),
        ("", "Choose a nickname"),
    ],
    ids=["10MB", "sql", "empty"],
)
def test_a_bad_nickname_is_refused_and_nothing_is_stored(class_db: str, nickname: str, message: str) -> None:
    code, _key = _start(_teacher())
    student = _join(_student(**{"class": code}), nickname)
    assert message in _text(student) and "In class" not in _text(student)
    assert _rows(class_db) == 0


def test_the_join_box_draws_its_field_only_while_it_is_open(class_db: str) -> None:
    student = _student()
    assert [box.proto.popover.label for box in student.get("popover")] == ["Join a class"]
    assert not student.text_input and not [b for b in student.button if b.key == "class_code_join"]
    student.session_state[join.JOIN_WIDGET] = True  # the reader opens it
    _run(student)
    assert [field.key for field in student.text_input] == [join.CODE_WIDGET]
    student.session_state[join.JOIN_WIDGET] = False
    assert not _run(student).text_input


def test_a_wrong_code_is_refused_and_codes_cannot_be_tried_endlessly(class_db: str) -> None:
    code, _key = _start(_teacher())
    word, digits = code.split("-")
    student = _student()
    student.session_state[join.JOIN_WIDGET] = True  # the "Join a class" box, opened
    _run(student)
    for number in range(5):
        student.text_input(key=join.CODE_WIDGET).set_value(f"{word}-{(int(digits) + 1 + number) % 1000:03d}")
        student.button(key="class_code_join").click()
        _join(_run(student), "Ana")
        assert "No class has this code" in _text(student)
    student.text_input(key=join.CODE_WIDGET).set_value(code)  # the right code, too late
    student.button(key="class_code_join").click()
    _join(_run(student), "Ana")
    assert "Too many wrong codes" in _text(student) and "In class" not in _text(student)
    assert _rows(class_db) == 0


def test_a_lesson_is_unchanged_without_a_class_and_when_the_database_is_down(
    class_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _student(step="2")
    assert "Join class" not in _text(plain) and "In class" not in _text(plain)
    code, _key = _start(_teacher())
    student = _student(step="2", **{"class": code})
    _join(student, "Ana")
    recorder = recorder_for(class_db)
    monkeypatch.setattr(recorder, "store", ClassStore(engine_for("postgresql://nobody@127.0.0.1:1/none")))
    monkeypatch.setattr(recorder, "flush_s", 3600.0)
    student.button(key=f"predict_{LESSON}_1_reveal").click()
    _run(student)
    assert not recorder.flush()
    _run(student)
    assert "Class results are not being saved right now" in _text(student)
    assert "What happened" in _html(student)  # the step is drawn as always


def test_the_teacher_page_says_when_classes_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQLECHO_CLASS_DB", "off")
    monkeypatch.setenv("SQLECHO_LESSONS", str(FIXTURES))
    monkeypatch.setenv("SQLECHO_RUNNER", "in-process")
    at = AppTest.from_file(str(ROOT / "app_pages" / "teacher.py"), default_timeout=TIMEOUT)
    _run(at)
    assert "Classes are turned off on this server" in _text(at)


def test_a_student_sees_their_own_records_and_no_one_elses(class_db: str) -> None:
    code, _key = _start(_teacher())
    ana = _join(_student(step="2", **{"class": code}), "Ana")
    bo = _join(_student(step="4", **{"class": code}), "Bo")
    ana.button(key=f"predict_{LESSON}_1_reveal").click()
    _run(ana)
    bo.button(key=f"predict_{LESSON}_3_reveal").click()
    _run(bo)
    assert recorder_for(class_db).flush()
    ana.button(key="class_show_mine").click()
    _run(ana)
    rows = ana.dataframe[0].value
    assert set(rows["step"]) == {2} and len(rows) == 3 and set(rows["outcome"]) == {"revealed"}


def test_each_exercise_check_is_recorded_with_its_first_failed_clause_and_code_only_when_collected(
    class_db: str,
) -> None:
    teacher = _teacher()
    teacher.toggle(key="w_class_collect").set_value(True)
    code, key = _start(teacher)
    student = _join(_student(step="3", **{"class": code}), "Ana")
    assert "Your teacher collects the code of your exercise checks." in _text(student)
    box = f"exercise_{LESSON}_2_code"
    wrong = "heroes = session.exec(select(Hero)).all()\nagain = session.exec(select(Hero)).all()\n"
    student.text_area(key=box).input(wrong)
    student.button(key=f"exercise_{LESSON}_2_check").click()
    _run(student)
    _run(student)  # a rerun that shows the same result again is not another check
    student.button(key=f"exercise_{LESSON}_2_check").click()
    _run(student)
    student.text_area(key=box).input(
        "heroes = session.exec(select(Hero)).all()\nprint('heroes:', len(heroes))\n"
    )
    student.button(key=f"exercise_{LESSON}_2_check").click()
    _run(student)
    assert recorder_for(class_db).flush()
    store = store_for(class_db)
    info = store.find(code)
    assert info is not None
    exercise = store.summary(TeacherPass(info.id, key)).lessons[LESSON].exercises[2]
    assert (exercise.attempts, exercise.tried, exercise.passed, exercise.most_failed) == (
        3,
        1,
        1,
        "select == 1",
    )
    rows = list(csv.DictReader(io.StringIO(store.csv(TeacherPass(info.id, key)))))
    assert [row["outcome"] for row in rows] == ["failed", "failed", "passed"]
    assert rows[0]["code"] == wrong
