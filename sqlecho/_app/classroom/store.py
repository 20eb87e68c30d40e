"""The classroom's database: every query of the classroom, through SQLModel sessions.

One :class:`ClassStore` per server process and database URL. A SQLite file by default (one
server), any SQLAlchemy URL otherwise: PostgreSQL (``postgresql://``, spoken through psycopg 3)
when several replicas serve one class, so that a student on one replica and their teacher on
another see the same rows. The tables are made on first use and carry a schema version.

Authorization lives here, not in the pages: every teacher query takes the class and the
teacher's key and checks the key's digest; every write of a student's records names the
student's own key, checked against their row and their class in the same transaction. Nothing a
browser sends can name another student or another class: the pages hold a student's
:class:`Membership` in their server-side session, and write only through it.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, create_engine, select

from .codes import Refused, check_nickname, digest, matches, new_code, new_key
from .models import SCHEMA_VERSION, Answer, Attempt, Base, Classroom, SchemaVersion, Student

__all__ = [
    "AnswerRecord",
    "AttemptRecord",
    "ClaimCell",
    "ClassInfo",
    "ClassStore",
    "ClassSummary",
    "DEFAULT_RETENTION_DAYS",
    "ExerciseSummary",
    "LessonSummary",
    "Membership",
    "Position",
    "StepSummary",
    "StoreUnavailable",
    "TeacherPass",
    "engine_for",
    "utc_now",
]

_log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
"""How long a class's records are kept unless its teacher says otherwise."""
MAX_RETENTION_DAYS = 365
_PRESENT = timedelta(minutes=5)
"""A student counts as "on a step now" when they moved within this long."""


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class StoreUnavailable(RuntimeError):
    """The class database cannot be used (down, unreachable, another schema); the message says
    what, in one line, without the URL's password."""


@dataclass(frozen=True)
class ClassInfo:
    """What the pages know of a class (never its key)."""

    id: int
    code: str
    created_at: datetime
    expires_at: datetime
    collect_code: bool

    @property
    def retention_days(self) -> int:
        return max(1, round((self.expires_at - self.created_at) / timedelta(days=1)))


@dataclass(frozen=True)
class TeacherPass:
    """The teacher's proof: the class and the key of the teacher link."""

    class_id: int
    key: str = field(repr=False)


@dataclass(frozen=True)
class Membership:
    """A student in a class, as their server-side session holds it (the key never leaves it)."""

    class_id: int
    code: str
    student_id: int
    nickname: str
    key: str = field(repr=False)


@dataclass(frozen=True)
class AnswerRecord:
    """One question of a step: ``right``, ``wrong`` or ``revealed`` (shown without an answer)."""

    lesson: str
    lesson_version: str
    step: int
    claim: int
    prompt: str
    outcome: str


@dataclass(frozen=True)
class AttemptRecord:
    """One exercise check: passed or not, the first failed clause, the code when collected."""

    lesson: str
    lesson_version: str
    step: int
    passed: bool
    failed_clause: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Position:
    """Where a student is now (0-based step)."""

    lesson: str
    step: int


Record = AnswerRecord | AttemptRecord | Position
OUTCOMES = ("right", "wrong", "revealed")


@dataclass
class ClaimCell:
    """One question of one step, over the class: how many students answered it how."""

    prompt: str
    right: int = 0
    wrong: int = 0
    revealed: int = 0


@dataclass
class StepSummary:
    """One asked step: its questions, and how many students got at least one wrong."""

    step: int
    claims: dict[int, ClaimCell] = field(default_factory=dict)
    students_wrong: int = 0


@dataclass
class ExerciseSummary:
    """One exercise: students who tried, who passed, the clause that failed most."""

    step: int
    tried: int = 0
    passed: int = 0
    attempts: int = 0
    most_failed: str | None = None
    most_failed_count: int = 0


@dataclass
class LessonSummary:
    lesson: str
    steps: dict[int, StepSummary] = field(default_factory=dict)
    exercises: dict[int, ExerciseSummary] = field(default_factory=dict)
    here_now: dict[int, int] = field(default_factory=dict)
    """0-based step -> students on it now."""


@dataclass
class ClassSummary:
    """Everything the teacher view draws, read in one go."""

    info: ClassInfo
    students: int
    lessons: dict[str, LessonSummary]
    most_mispredicted: list[tuple[str, int, int]]
    """Up to three (lesson, 0-based step, students with a wrong answer), worst first."""


def engine_for(url: str) -> Engine:
    """An engine for the class database at ``url`` (``postgresql://`` is spoken through psycopg 3).

    A database that does not answer fails within seconds, never hangs a page.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailable("SQLECHO_CLASS_DB is not a database URL (e.g. sqlite:///class.db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    args: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        args = {"timeout": 5, "check_same_thread": False}
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"no folder for the class database: {exc.strerror}") from None
    elif parsed.get_backend_name() == "postgresql":
        args = {"connect_timeout": 3}
    try:
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=args)
    except (ArgumentError, ImportError) as exc:
        raise StoreUnavailable(f"SQLECHO_CLASS_DB cannot be used: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _pragmas(connection: DBAPIConnection, _record: object) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")  # a record of a deleted student is refused
            cursor.execute("PRAGMA journal_mode=WAL")  # the teacher reads while students write
            cursor.close()

    return engine


def _info(row: Classroom) -> ClassInfo:
    assert row.id is not None
    return ClassInfo(row.id, row.code, row.created_at, row.expires_at, row.collect_code)


class ClassStore:
    """The classroom's queries over one database (thread-safe: a session per call)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self._clock = clock
        self._prepared = False

    @classmethod
    def from_url(cls, url: str) -> ClassStore:
        return cls(engine_for(url))

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A session whose database errors become one :class:`StoreUnavailable`."""
        if not self._prepared:
            self.prepare()
        try:
            with Session(self.engine) as session:
                yield session
        except (Refused, StoreUnavailable):
            raise
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"the class database does not answer ({type(exc).__name__})") from exc

    def prepare(self) -> None:
        """Make the tables when the database has none, and check the schema version."""
        try:
            for attempt in range(2):  # two replicas making the tables at once: the loser looks again
                try:
                    Base.metadata.create_all(self.engine)
                    break
                except SQLAlchemyError:
                    if attempt:
                        raise
            with Session(self.engine) as session:
                found = session.exec(select(SchemaVersion)).first()
                if found is None:
                    session.add(SchemaVersion(version=SCHEMA_VERSION))
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()
                    found = session.exec(select(SchemaVersion)).first()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"the class database does not answer ({type(exc).__name__})") from exc
        if found is None or found.version != SCHEMA_VERSION:
            version = found.version if found else "none"
            raise StoreUnavailable(
                f"the class database holds schema version {version}; this sqlecho writes {SCHEMA_VERSION}"
            )
        self._prepared = True

    # Classes -------------------------------------------------------------------------------

    def start_class(
        self, *, retention_days: int = DEFAULT_RETENTION_DAYS, collect_code: bool = False
    ) -> tuple[ClassInfo, str]:
        """A new class and its teacher's key (returned once: only its digest is kept)."""
        if not 1 <= retention_days <= MAX_RETENTION_DAYS:
            raise Refused(f"Keep records for 1 to {MAX_RETENTION_DAYS} days.")
        self.purge_expired()
        key = new_key()
        now = self._clock()
        for _ in range(20):
            with self._session() as session:
                row = Classroom(
                    code=new_code(),
                    key_digest=digest(key),
                    created_at=now,
                    expires_at=now + timedelta(days=retention_days),
                    collect_code=collect_code,
                )
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:  # the code is taken: draw another
                    session.rollback()
                    continue
                session.refresh(row)
                return _info(row), key
        raise StoreUnavailable("no free join code was found; try again")

    def find(self, code: str) -> ClassInfo | None:
        """The live class with join code ``code`` (as :func:`~.codes.normal_code` gives it)."""
        with self._session() as session:
            row = session.exec(select(Classroom).where(Classroom.code == code)).first()
            if row is None or row.expires_at <= self._clock():
                return None
            return _info(row)

    def _teacher_row(self, session: Session, teacher: TeacherPass) -> Classroom:
        row = session.get(Classroom, teacher.class_id)
        if row is None or row.expires_at <= self._clock() or not matches(teacher.key, row.key_digest):
            raise Refused("This teacher link does not open a class (wrong, ended or expired).")
        return row

    def open_as_teacher(self, code: str, key: str) -> ClassInfo | None:
        """The class when ``key`` is its teacher's; None otherwise (the same answer for a wrong
        code and a wrong key)."""
        info = self.find(code)
        if info is None:
            return None
        try:
            with self._session() as session:
                return _info(self._teacher_row(session, TeacherPass(info.id, key)))
        except Refused:
            return None

    def settings(self, class_id: int) -> ClassInfo | None:
        """The class's settings as a student's page shows them (collecting code or not)."""
        with self._session() as session:
            row = session.get(Classroom, class_id)
            return _info(row) if row is not None and row.expires_at > self._clock() else None

    def configure(
        self, teacher: TeacherPass, *, collect_code: bool | None = None, retention_days: int | None = None
    ) -> ClassInfo:
        """Turn code collection on or off, or change how long the records are kept."""
        with self._session() as session:
            row = self._teacher_row(session, teacher)
            if collect_code is not None:
                row.collect_code = collect_code
            if retention_days is not None:
                if not 1 <= retention_days <= MAX_RETENTION_DAYS:
                    raise Refused(f"Keep records for 1 to {MAX_RETENTION_DAYS} days.")
                row.expires_at = row.created_at + timedelta(days=retention_days)
            session.add(row)
            session.commit()
            session.refresh(row)
            return _info(row)

    def end(self, teacher: TeacherPass) -> None:
        """End the class: every record of it, its students and the class itself are deleted."""
        with self._session() as session:
            self._teacher_row(session, teacher)
            self._delete_classes(session, [teacher.class_id])
            session.commit()

    @staticmethod
    def _delete_classes(session: Session, ids: Sequence[int]) -> None:
        for model in (Answer, Attempt, Student):
            session.exec(delete(model).where(col(model.class_id).in_(ids)))
        session.exec(delete(Classroom).where(col(Classroom.id).in_(ids)))

    def purge_expired(self) -> int:
        """Delete every class past its retention period; returns how many."""
        with self._session() as session:
            ids = [
                row_id
                for row_id in session.exec(
                    select(Classroom.id).where(Classroom.expires_at <= self._clock())
                ).all()
                if row_id is not None
            ]
            if ids:
                self._delete_classes(session, ids)
                session.commit()
            return len(ids)

    # Students ------------------------------------------------------------------------------

    def join(self, info: ClassInfo, nickname: object) -> Membership:
        """A new student of the class; :class:`~.codes.Refused` for a bad or taken nickname."""
        name = check_nickname(nickname)  # before any query: a refused name is never stored
        key = new_key()
        with self._session() as session:
            room = session.get(Classroom, info.id)
            if room is None or room.expires_at <= self._clock():
                raise Refused("This class has ended.")
            taken = session.exec(
                select(func.count())
                .select_from(Student)
                .where(Student.class_id == info.id, func.lower(Student.nickname) == name.lower())
            ).one()
            if taken:
                raise Refused(f"Someone in this class is already called {name}; choose another nickname.")
            row = Student(class_id=info.id, nickname=name, key_digest=digest(key), joined_at=self._clock())
            session.add(row)
            session.commit()
            session.refresh(row)
            assert row.id is not None
            return Membership(info.id, info.code, row.id, name, key)

    def write(self, records: Iterable[tuple[Membership, Record]]) -> int:
        """Write a batch of students' records in one transaction; returns how many were kept.

        Records of a membership whose key, student or class does not match (a forged or stale
        membership, an ended class) are dropped; code is kept only while its class collects it.
        """
        batch = list(records)
        if not batch:
            return 0
        with self._session() as session:
            ids = {member.student_id for member, _ in batch}
            rows = session.exec(select(Student).where(col(Student.id).in_(ids))).all()
            students = {row.id: row for row in rows}
            collecting = {
                row.id
                for row in session.exec(
                    select(Classroom).where(col(Classroom.id).in_({row.class_id for row in rows}))
                ).all()
                if row.collect_code
            }
            now = self._clock()
            moves: dict[int, Position] = {}
            kept = 0
            for member, record in batch:
                row = students.get(member.student_id)
                if row is None or row.class_id != member.class_id or not matches(member.key, row.key_digest):
                    continue
                if isinstance(record, Position):
                    moves[member.student_id] = record
                    continue
                if isinstance(record, AnswerRecord):
                    if record.outcome not in OUTCOMES:
                        continue
                    session.add(
                        Answer(
                            class_id=member.class_id,
                            student_id=member.student_id,
                            at=now,
                            lesson=record.lesson[:200],
                            lesson_version=record.lesson_version[:16],
                            step=record.step,
                            claim=record.claim,
                            prompt=record.prompt[:300],
                            outcome=record.outcome,
                        )
                    )
                else:
                    code = record.code if member.class_id in collecting else None
                    session.add(
                        Attempt(
                            class_id=member.class_id,
                            student_id=member.student_id,
                            at=now,
                            lesson=record.lesson[:200],
                            lesson_version=record.lesson_version[:16],
                            step=record.step,
                            passed=record.passed,
                            failed_clause=(record.failed_clause or "")[:300] or None,
                            code=code[:20_000] if code else None,
                        )
                    )
                kept += 1
            if moves:
                table = Base.metadata.tables[Student.__tablename__]  # one UPDATE for the batch
                session.exec(
                    update(table)
                    .where(table.c.id == bindparam("sid"))
                    .values(lesson=bindparam("l"), step=bindparam("s"), seen_at=bindparam("t")),
                    params=[
                        {"sid": sid, "l": p.lesson[:200], "s": p.step, "t": now} for sid, p in moves.items()
                    ],
                )
            session.commit()
            return kept + len(moves)

    def own_records(self, member: Membership) -> list[dict[str, Any]]:
        """What is stored about this student, and nothing of anyone else's."""
        with self._session() as session:
            row = session.get(Student, member.student_id)
            if row is None or row.class_id != member.class_id or not matches(member.key, row.key_digest):
                raise Refused("You are not in this class any more.")
            return [
                *(
                    {
                        "kind": "prediction",
                        "lesson": a.lesson,
                        "step": a.step + 1,
                        "question": a.prompt,
                        "outcome": a.outcome,
                    }
                    for a in session.exec(
                        select(Answer).where(Answer.student_id == row.id).order_by(col(Answer.id))
                    ).all()
                ),
                *(
                    {
                        "kind": "exercise",
                        "lesson": t.lesson,
                        "step": t.step + 1,
                        "question": t.failed_clause or "",
                        "outcome": "passed" if t.passed else "failed",
                    }
                    for t in session.exec(
                        select(Attempt).where(Attempt.student_id == row.id).order_by(col(Attempt.id))
                    ).all()
                ),
            ]

    # The teacher's view ----------------------------------------------------------------------

    def summary(self, teacher: TeacherPass) -> ClassSummary:
        """Everything the teacher view draws: a handful of GROUP BY queries."""
        with self._session() as session:
            room = self._teacher_row(session, teacher)
            info = _info(room)
            cid = info.id
            students = session.exec(
                select(func.count()).select_from(Student).where(Student.class_id == cid)
            ).one()
            lessons: dict[str, LessonSummary] = {}

            def lesson(name: str) -> LessonSummary:
                return lessons.setdefault(name, LessonSummary(name))

            counted = (
                session.connection()
                .execute(  # six columns: more than exec()'s types know
                    sa_select(
                        col(Answer.lesson),
                        col(Answer.step),
                        col(Answer.claim),
                        col(Answer.prompt),
                        col(Answer.outcome),
                        func.count(func.distinct(Answer.student_id)),
                    )
                    .where(col(Answer.class_id) == cid)
                    .group_by(
                        col(Answer.lesson),
                        col(Answer.step),
                        col(Answer.claim),
                        col(Answer.prompt),
                        col(Answer.outcome),
                    )
                )
                .all()
            )
            for name, step, claim, prompt, outcome, count in counted:
                summary = lesson(name).steps.setdefault(step, StepSummary(step))
                cell = summary.claims.setdefault(claim, ClaimCell(prompt))
                if outcome in OUTCOMES:
                    setattr(cell, outcome, getattr(cell, outcome) + count)
            wrong_steps = session.exec(
                select(Answer.lesson, Answer.step, func.count(func.distinct(Answer.student_id)))
                .where(Answer.class_id == cid, Answer.outcome == "wrong")
                .group_by(col(Answer.lesson), col(Answer.step))
            ).all()
            for name, step, count in wrong_steps:
                lesson(name).steps.setdefault(step, StepSummary(step)).students_wrong = count
            ranked = sorted(wrong_steps, key=lambda item: (-item[2], item[0], item[1]))[:3]
            tried = session.exec(
                select(
                    Attempt.lesson,
                    Attempt.step,
                    func.count(),
                    func.count(func.distinct(Attempt.student_id)),
                )
                .where(Attempt.class_id == cid)
                .group_by(col(Attempt.lesson), col(Attempt.step))
            ).all()
            for name, step, attempts, people in tried:
                lesson(name).exercises[step] = ExerciseSummary(step, tried=people, attempts=attempts)
            passed = session.exec(
                select(Attempt.lesson, Attempt.step, func.count(func.distinct(Attempt.student_id)))
                .where(Attempt.class_id == cid, col(Attempt.passed).is_(True))
                .group_by(col(Attempt.lesson), col(Attempt.step))
            ).all()
            for name, step, people in passed:
                lesson(name).exercises.setdefault(step, ExerciseSummary(step)).passed = people
            failing = session.exec(
                select(Attempt.lesson, Attempt.step, Attempt.failed_clause, func.count())
                .where(Attempt.class_id == cid, col(Attempt.failed_clause).is_not(None))
                .group_by(col(Attempt.lesson), col(Attempt.step), col(Attempt.failed_clause))
            ).all()
            for name, step, clause, count in failing:
                exercise = lesson(name).exercises.setdefault(step, ExerciseSummary(step))
                if count > exercise.most_failed_count or (
                    count == exercise.most_failed_count and str(clause) < str(exercise.most_failed)
                ):
                    exercise.most_failed, exercise.most_failed_count = clause, count
            present = session.exec(
                select(Student.lesson, Student.step, func.count())
                .where(
                    Student.class_id == cid,
                    col(Student.lesson).is_not(None),
                    col(Student.seen_at) >= self._clock() - _PRESENT,
                )
                .group_by(col(Student.lesson), col(Student.step))
            ).all()
            for where, at, count in present:
                if where is not None and at is not None:
                    lesson(where).here_now[at] = count
            return ClassSummary(info, students, lessons, [(n, s, c) for n, s, c in ranked])

    def csv(self, teacher: TeacherPass) -> str:
        """The class's records, one row per answered question and per exercise check."""
        out = io.StringIO()
        writer = csv.writer(out)
        header = [
            "kind",
            "nickname",
            "lesson",
            "lesson_version",
            "step",
            "question",
            "outcome",
            "failed_clause",
        ]
        with self._session() as session:
            room = self._teacher_row(session, teacher)
            if room.collect_code:
                header.append("code")
            writer.writerow([*header, "at"])
            names = dict(
                session.exec(select(Student.id, Student.nickname).where(Student.class_id == room.id)).all()
            )
            for a in session.exec(
                select(Answer).where(Answer.class_id == room.id).order_by(col(Answer.id))
            ).all():
                row = ["prediction", names.get(a.student_id, ""), a.lesson, a.lesson_version, a.step + 1]
                row += [a.prompt, a.outcome, ""]
                writer.writerow(
                    [_cell(v) for v in [*row, *([""] if room.collect_code else []), a.at.isoformat()]]
                )
            for t in session.exec(
                select(Attempt).where(Attempt.class_id == room.id).order_by(col(Attempt.id))
            ).all():
                row = ["exercise", names.get(t.student_id, ""), t.lesson, t.lesson_version, t.step + 1, ""]
                row += ["passed" if t.passed else "failed", t.failed_clause or ""]
                extra = [t.code or ""] if room.collect_code else []
                writer.writerow([_cell(v) for v in [*row, *extra, t.at.isoformat()]])
        return out.getvalue()


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
