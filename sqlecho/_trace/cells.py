"""Split a Python file in the ``# %%`` cell format into code and markdown cells.

The format is the "percent" format that VS Code, PyCharm, Spyder and Jupytext read::

    # %% [markdown]
    # Some *narrative*.

    # %% Add the hero tags=["raises-exception"]
    session.add(hero)

    # %% [markdown] tags=["after"]
    # Why it happened: shown once the step has been seen.

    # %% Count the heroes tags=["exercise"] check="select == 1" hint="One query."
    print(len(session.exec(select(Hero)).all()))

    # %% Read the schema tags=["sqlite-only"]
    print(session.exec(text("SELECT name FROM sqlite_master")).all())

    # %% Read the schema tags=["postgresql-only"]
    print(session.exec(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all())

A cell (code or markdown) tagged ``sqlite-only`` or ``postgresql-only`` is part of the lesson on
that database alone: on the other it is no step and no narrative, as if it were not there.

A file without any ``# %%`` marker is not a lesson: the tracer steps it line by line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from .._transcript.schema import header
from .options import TraceOptions

__all__ = [
    "DATABASE_TAGS",
    "Cell",
    "CellKind",
    "StepCell",
    "code_steps",
    "has_cells",
    "parse_cells",
    "run_header",
    "step_cells",
]

# A cell marker is "# %%" at the start of a line, followed by nothing, a space, or the end.
_MARKER = re.compile(r"^#\s?%%(?:\s+(?P<rest>.*))?\s*$")
_CELL_TYPE = re.compile(r"\[(?:markdown|md|raw)\]")
_TAGS = re.compile(r"\btags\s*=\s*(?P<tags>\[[^\]]*\])")
# Jupytext also writes other key=value metadata after the title, with JSON values; only those are
# metadata, so a title such as "Keep values (expire_on_commit=False)" stays whole.
_ATTRIBUTE = re.compile(r"(?<![\w(])(?P<name>check|hint|task|role)=\"(?P<value>[^\"]*)\"")
_METADATA = re.compile(
    r"(?<![\w(])[A-Za-z_][\w-]*=(\"[^\"]*\"|\[[^\]]*\]|\{[^}]*\}|true\b|false\b|null\b|-?\d+(?:\.\d+)?\b)"
)


DATABASE_TAGS = {"sqlite-only": "sqlite", "postgresql-only": "postgresql"}
"""The tags that keep a cell to one database (``TraceOptions.database``), and that database."""


class CellKind(Enum):
    """What a cell holds."""

    CODE = "code"  # Python to run as one step
    MARKDOWN = "markdown"  # narrative for the next code cell


@dataclass(frozen=True)
class Cell:
    """One cell of a percent-format file."""

    kind: CellKind
    """Code or markdown."""
    title: str | None
    """Text after ``# %%`` (metadata and cell type removed), or None."""
    tags: tuple[str, ...]
    """Tags from ``tags=[...]``, e.g. ``("raises-exception",)``."""
    first_line: int
    """1-based line of the first non-blank line of the body (the marker line if empty)."""
    last_line: int
    """1-based line of the last non-blank line of the body."""
    source: str
    """The cell body, padded with blank lines so that it compiles at the file's line numbers."""
    text: str = field(default="")
    """For markdown cells: the narrative with comment markers removed."""
    attributes: dict[str, str] = field(default_factory=dict)
    """The ``check``, ``hint`` and ``task`` attributes of an exercise cell's header (``role`` in an
    exercise file: ``starter``, ``wrong``, ``alternative``)."""
    marker_line: int = 0
    """1-based line of the ``# %%`` marker (0 for code before the first marker)."""

    @property
    def expects_error(self) -> bool:
        """True when the cell is tagged ``raises-exception``: an error there is part of the lesson."""
        return "raises-exception" in self.tags

    def runs_on(self, database: str) -> bool:
        """False when the cell is tagged for another database only (``sqlite-only``, ``postgresql-only``)."""
        only = {DATABASE_TAGS[tag] for tag in self.tags if tag in DATABASE_TAGS}
        return not only or database in only

    @property
    def is_after(self) -> bool:
        """True for a markdown cell tagged ``after``: the explanation of the code cell before it."""
        return self.kind is CellKind.MARKDOWN and "after" in self.tags

    @property
    def exercise(self) -> dict[str, str] | None:
        """``{"check": ..., "hint": ..., "task": ...}`` for a code cell tagged ``exercise``, else None."""
        if self.kind is not CellKind.CODE or "exercise" not in self.tags:
            return None
        return {key: self.attributes.get(key, "") for key in ("check", "hint", "task")}


def has_cells(source: str) -> bool:
    """True when ``source`` has at least one ``# %%`` cell marker."""
    return any(_MARKER.match(line) for line in source.splitlines())


def run_header(name: str, source: str, options: TraceOptions, status: str) -> dict[str, object]:
    """The header of ``source``'s transcript (mode, options, library versions), for the tracer
    and for the sandbox's parent, which writes it for a run that did not finish its own."""
    import sqlalchemy
    import sqlmodel

    made = header(
        name,
        "cells" if has_cells(source) else "lines",
        options.switches(),
        {"sqlalchemy": sqlalchemy.__version__, "sqlmodel": sqlmodel.__version__},
        status,
    )
    if options.database_url or options.database == "postgresql":
        made["database"] = {"name": "postgresql", "version": options.database_version}
    return made


def _parse_header(rest: str | None) -> tuple[CellKind, str | None, tuple[str, ...], dict[str, str]]:
    rest = rest or ""
    attributes = {match["name"]: match["value"] for match in _ATTRIBUTE.finditer(rest)}
    kind = CellKind.CODE
    if match := _CELL_TYPE.search(rest):
        kind = CellKind.MARKDOWN  # raw cells are not run either: their text is narrative
        rest = rest[: match.start()] + rest[match.end() :]
    tags: tuple[str, ...] = ()
    if (match := _TAGS.search(rest)) is not None:
        try:
            parsed = json.loads(match["tags"].replace("'", '"'))
            tags = tuple(str(tag) for tag in parsed)
        except ValueError:
            tags = ()
    rest = _METADATA.sub("", rest)
    title = " ".join(rest.split()) or None
    return kind, title, tags, attributes


def _markdown_text(lines: list[str]) -> str:
    """Undo the comment prefix of a markdown cell (``# text``) or its triple-quoted string."""
    body = "\n".join(lines).strip()
    for quote in ('"""', "'''"):
        if body.startswith(quote) and body.endswith(quote) and len(body) >= 6:
            return body[3:-3].strip("\n")
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("# "):
            out.append(stripped[2:])
        elif stripped.startswith("#"):
            out.append(stripped[1:])
        else:
            out.append(stripped)
    return "\n".join(out).strip("\n")


def parse_cells(source: str) -> list[Cell]:
    """Cut ``source`` into cells, in file order.

    Code before the first marker becomes an untitled code cell. Cells whose body is empty or only
    comments are kept (a markdown cell's narrative still belongs to the next code cell); the tracer
    decides what to do with them.
    """
    lines = source.splitlines()
    headers: list[tuple[int, str | None]] = []  # (0-based line index of the marker, rest)
    for index, line in enumerate(lines):
        if match := _MARKER.match(line):
            headers.append((index, match["rest"]))
    starts: list[tuple[int, str | None]] = [(-1, None), *headers]  # a virtual marker before line 1
    cells: list[Cell] = []
    for number, (marker_index, rest) in enumerate(starts):
        end = starts[number + 1][0] if number + 1 < len(starts) else len(lines)
        body = lines[marker_index + 1 : end]
        if marker_index == -1 and not any(line.strip() for line in body):
            continue
        kind, title, tags, attributes = (
            _parse_header(rest) if marker_index != -1 else (CellKind.CODE, None, (), {})
        )
        content = [i for i, line in enumerate(body) if line.strip()]
        first = marker_index + 2 + (content[0] if content else 0)
        last = marker_index + 2 + (content[-1] if content else 0)
        if not content:
            first = last = marker_index + 1
        padded = "\n" * (marker_index + 1) + "\n".join(body) + "\n"
        text = _markdown_text(body) if kind is CellKind.MARKDOWN else ""
        cells.append(Cell(kind, title, tags, first, last, padded, text, attributes, marker_index + 1))
    return cells


@dataclass(frozen=True)
class StepCell:
    """A code cell that becomes a step, with the markdown that surrounds it."""

    cell: Cell
    narrative: str
    """The markdown cells since the previous step (the "before" part: the question)."""
    after: str
    """The markdown cells tagged ``after`` that follow it (why it happened), or ""."""


def _runs(cell: Cell) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in cell.source.splitlines())


def step_cells(source: str, database: str = "sqlite") -> list[StepCell]:
    """The code cells that become steps on ``database``, in order, each with its narrative (the
    text of the markdown cells since the previous step, joined by a blank line) and its "after"
    text (the markdown cells tagged ``after`` that follow it). A code cell of nothing but
    comments is no step; the narrative before it carries over to the next one. An ``after`` cell
    before the first step is narrative. Cells tagged for another database are left out."""
    steps: list[StepCell] = []
    narrative: list[str] = []
    after: list[str] = []
    for cell in parse_cells(source):
        if not cell.runs_on(database):
            continue
        if cell.kind is CellKind.MARKDOWN:
            if cell.text:
                (after if cell.is_after and steps and not narrative else narrative).append(cell.text)
        elif _runs(cell):
            if steps and after:
                steps[-1] = StepCell(steps[-1].cell, steps[-1].narrative, "\n\n".join(after))
            steps.append(StepCell(cell, "\n\n".join(narrative), ""))
            narrative, after = [], []
    if steps and after:
        steps[-1] = StepCell(steps[-1].cell, steps[-1].narrative, "\n\n".join(after))
    return steps


def code_steps(source: str, database: str = "sqlite") -> Iterator[tuple[Cell, str]]:
    """The code cells that become steps on ``database``, in order, each with its narrative (see
    :func:`step_cells`)."""
    for step in step_cells(source, database):
        yield step.cell, step.narrative
