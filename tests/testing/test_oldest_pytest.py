"""The oldest pytest and pluggy that pyproject.toml declares run the plugin: the fixture, the
report and the automatic N+1 and unused-eager-load checks, in a virtualenv of their own.

It downloads them, so it runs in CI (CI=true) and, elsewhere, with SQLECHO_OLDEST_PYTEST=1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import sqlalchemy
import sqlmodel

from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("CI") != "true" and os.environ.get("SQLECHO_OLDEST_PYTEST") != "1",
    reason="installs pytest and pluggy into a virtualenv: CI=true or SQLECHO_OLDEST_PYTEST=1",
)

PROJECT = """
import pytest
from sqlalchemy import ForeignKey, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Hero(Base):
    __tablename__ = "hero"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    team: Mapped[Team] = relationship()


@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Hero(team=Team(name=f"Team {n}")) for n in range(2)])
        session.commit()
    return engine


def test_counts(engine, sql_capture):
    with sql_capture(engine, select=1), Session(engine) as session:
        session.scalars(select(Hero)).all()


@pytest.mark.sqlecho_no_n_plus_one
def test_n_plus_one(engine):
    with Session(engine) as session:
        [hero.team.name for hero in session.scalars(select(Hero))]


@pytest.mark.sqlecho_no_unused_eager_loads
def test_unused_eager_load(engine):
    with Session(engine) as session:
        session.scalars(select(Hero).options(selectinload(Hero.team))).all()


@pytest.mark.sqlecho_no_unused_eager_loads
def test_used_eager_load(engine):
    with Session(engine) as session:
        [hero.team.name for hero in session.scalars(select(Hero).options(selectinload(Hero.team)))]


def test_report(engine, sql_capture):
    with sql_capture(engine), Session(engine) as session:
        session.scalars(select(Hero)).all()
    assert False
"""


def _minimum(name: str) -> str:
    """The version pyproject.toml declares as the minimum of ``name`` (in the pytest extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in project["optional-dependencies"]["pytest"]:
        match = re.fullmatch(rf"{name}>=([\d.]+)", requirement)
        if match:
            return match.group(1)
    raise AssertionError(f"pyproject.toml declares no minimum for {name}")


def test_the_oldest_declared_pytest_and_pluggy_run_the_plugin(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pins = [
        f"pytest=={_minimum('pytest')}",
        f"pluggy=={_minimum('pluggy')}",
        f"SQLAlchemy=={sqlalchemy.__version__}",
        f"sqlmodel=={sqlmodel.__version__}",
    ]
    subprocess.run([python, "-m", "pip", "install", "-q", *pins], check=True)
    # From a copy: building the package writes build/ next to pyproject.toml.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "sqlecho", source / "sqlecho", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(source)], check=True)
    (tmp_path / "test_project.py").write_text(PROJECT, encoding="utf-8")
    result = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "--sqlecho-report", "test_project.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert f"pytest-{_minimum('pytest')}, pluggy-{_minimum('pluggy')}" in result.stdout
    assert "2 passed, 3 failed" in result.stdout or "3 failed, 2 passed" in result.stdout, result.stdout
    assert "lazy load Hero.team ran 2 times for Hero#1, Hero#2" in result.stdout
    assert "Hero.team was loaded by selectinload() for Hero#1, Hero#2, and nothing read it" in result.stdout
    assert "Captured SQL call" in result.stdout
