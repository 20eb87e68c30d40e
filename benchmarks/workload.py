"""The programs the benchmark runs, generated from templates into a temporary folder.

Three shapes, each sized by one number so that "10x more statements" is a parameter, not a
second hand-written program:

- the reference workload: a cell-format program of a few thousand statements (inserts, queries,
  updates, lazy loads), run plainly, with ``echo=True`` and traced;
- a cell lesson: one small cell per unit of work, so that its steps grow with its size;
- a line script: a plain script with a loop, stepped line by line.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "FLOOR_APP",
    "FLOOR_STEPS",
    "cell_lesson",
    "line_script",
    "reference_workload",
    "small_lesson",
    "write_program",
]

_MODELS = """\
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    heroes: list["Hero"] = Relationship(back_populates="team")


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    age: int = 0
    team_id: int | None = Field(default=None, foreign_key="team.id")
    team: Team | None = Relationship(back_populates="heroes")


engine = create_engine("sqlite://", echo={echo})
SQLModel.metadata.create_all(engine)
"""

_REFERENCE = """\
# %% Setup
{models}
# %% Inserts: one transaction per team
with Session(engine) as session:
    for t in range({teams}):
        team = Team(name=f"team {{t}}")
        session.add(team)
        for h in range({heroes}):
            session.add(Hero(name=f"hero {{t}}.{{h}}", team=team))
        session.commit()

# %% Lazy loads: every team's heroes
with Session(engine) as session:
    total = 0
    for team in session.exec(select(Team)).all():
        total += len(team.heroes)
    print("heroes:", total)

# %% Queries and updates, committed in batches
with Session(engine) as session:
    for i in range(1, {lookups} + 1):
        hero = session.exec(select(Hero).where(Hero.id == i)).one()
        hero.age += 1
        if i % 10 == 0:
            session.commit()
    session.commit()

# %% Each hero's team, loaded lazily after the commits expired it
with Session(engine) as session:
    for hero in session.exec(select(Hero).where(Hero.id <= {lookups})).all():
        hero.team.name
"""


def reference_workload(size: int = 100, echo: bool = False) -> str:
    """A cell-format program of about ``18 * size`` statements (2,708 for 150 teams).

    Args:
        size: teams to insert (each with five heroes); lookups and updates scale with it.
        echo: create the engine with ``echo=True``.
    """
    return _REFERENCE.format(models=_MODELS.format(echo=echo), teams=size, heroes=5, lookups=5 * size)


_LESSON_HEAD = """\
# %% [markdown]
# # {title}
#
# Each step adds a team with two heroes, reads one of them back and changes its age.

# %% Setup
{models}
session = Session(engine)
"""

_LESSON_CELL = """\
# %% [markdown]
# Step {n}: a team, two heroes, one query, one update.

# %% Team {n}
team = Team(name="team {n}")
session.add_all([team, Hero(name="first {n}", team=team), Hero(name="second {n}", team=team)])
session.commit()
hero = session.exec(select(Hero).where(Hero.name == "first {n}")).one()
hero.age = {n}
session.commit()
"""


def cell_lesson(cells: int, title: str = "A generated lesson") -> str:
    """A ``# %%`` lesson with ``cells`` work cells (about eight statements each) after its setup.

    Lessons with different titles are different programs (the app traces each one).
    """
    parts = [_LESSON_HEAD.format(title=title, models=_MODELS.format(echo=False))]
    parts += [_LESSON_CELL.format(n=n) for n in range(1, cells + 1)]
    return "\n".join(parts)


def small_lesson() -> str:
    """A lesson of the size a reader opens first: setup and four short steps."""
    return cell_lesson(4)


_SCRIPT = """\
{models}

def main():
    with Session(engine) as session:
        for n in range({rounds}):
            hero = Hero(name=f"hero {{n}}")
            session.add(hero)
            session.commit()
        found = session.exec(select(Hero)).all()
        print(len(found))


if __name__ == "__main__":
    main()
"""


def line_script(rounds: int) -> str:
    """A plain script (no cells) whose loop runs ``rounds`` times: stepped line by line."""
    return _SCRIPT.format(models=_MODELS.format(echo=False), rounds=rounds)


FLOOR_STEPS = 8
FLOOR_APP = f"""\
import streamlit as st

st.markdown(f"**Step {{st.query_params.get('step', '1')}} of {FLOOR_STEPS}**")
"""
"""A one-line Streamlit page that shows the step of its address, as the lesson page does: what
every Streamlit app pays for a rerun, the floor under the app's step latency."""


def write_program(folder: Path, name: str, source: str) -> Path:
    """Write ``source`` as ``folder/name`` and return the path."""
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path
