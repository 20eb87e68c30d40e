"""The classroom's tables, as SQLModel models (the product uses what it teaches).

Their own metadata (a registry apart from ``SQLModel.metadata``): a lesson traced in this
process creates its tables with ``SQLModel.metadata.create_all``, which must never create these.
Every table name starts with ``sqlecho_class``, so the classroom can share a database with
anything else. :data:`SCHEMA_VERSION` is stored in ``sqlecho_class_schema``; a database written
by another version is refused with a message, never altered behind the operator's back.

What is stored is exactly what docs/classroom.md says: a class (its code, the digest of the
teacher's key, its settings), its students (a nickname and where they are in the lessons), their
answers to predictions (right, wrong or revealed, per question) and their exercise checks (passed
or not, the first failed clause, their code only when the class collects it). No e-mail, no
password, no address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

__all__ = ["Answer", "Attempt", "Base", "Classroom", "SCHEMA_VERSION", "SchemaVersion", "Student"]

SCHEMA_VERSION = 1
"""The layout of these tables; a new layout is a new number (and a migration in :mod:`.store`)."""


class Base(SQLModel, registry=registry()):
    """The classroom's models: their own metadata, apart from the lessons'."""


class SchemaVersion(Base, table=True):
    """One row: the layout the database holds."""

    __tablename__ = "sqlecho_class_schema"
    version: int = Field(primary_key=True)


class Classroom(Base, table=True):
    """A class: its join code, the digest of the teacher's key, its settings."""

    __tablename__ = "sqlecho_class"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True, index=True)
    key_digest: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime = Field(index=True)
    collect_code: bool = False


class Student(Base, table=True):
    """A student of one class: a nickname, and the step they are on."""

    __tablename__ = "sqlecho_class_student"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="sqlecho_class.id", index=True, ondelete="CASCADE")
    nickname: str = Field(max_length=30)
    key_digest: str = Field(max_length=64)
    joined_at: datetime
    lesson: str | None = Field(default=None, max_length=200)
    step: int | None = None
    seen_at: datetime | None = None


class Answer(Base, table=True):
    """One question of one step, answered (right or wrong) or revealed without an answer."""

    __tablename__ = "sqlecho_class_answer"
    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="sqlecho_class.id", index=True, ondelete="CASCADE")
    student_id: int = Field(foreign_key="sqlecho_class_student.id", ondelete="CASCADE")
    lesson: str = Field(max_length=200)
    lesson_version: str = Field(max_length=16)
    step: int
    claim: int
    prompt: str = Field(max_length=300)
    outcome: str = Field(max_length=8)
    at: datetime


class Attempt(Base, table=True):
    """One press of an exercise's Check: passed or not, and the first clause that failed."""

    __tablename__ = "sqlecho_class_attempt"
    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="sqlecho_class.id", index=True, ondelete="CASCADE")
    student_id: int = Field(foreign_key="sqlecho_class_student.id", ondelete="CASCADE")
    lesson: str = Field(max_length=200)
    lesson_version: str = Field(max_length=16)
    step: int
    passed: bool
    failed_clause: str | None = Field(default=None, max_length=300)
    code: str | None = Field(default=None, max_length=20_000)
    at: datetime
