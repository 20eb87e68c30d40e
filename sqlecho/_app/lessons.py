"""Where the reader is: the lesson list, and the page address that links to one step.

The app's address is a promise to teachers: ``?lesson=<file stem>&step=<N>`` (N 1-based) opens
that step, and the app keeps the address in step with the screen. A lesson's old stem (from
before it was renumbered, ``_render.renamed``) opens the lesson under its new one, at the same
step. Switches ride along when they differ from the defaults: ``&expire_on_commit=0``,
``&autoflush=0``, ``&presenter=1``, ``&predict=0``, and the database when it is not SQLite:
``&db=postgresql``. Parsing never fails: a bad value gives a message for the reader and the
nearest sensible place. Messages are plain text quoting whoever wrote the link: the page shows
them with ``_plain.md_literal``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .._render.renamed import current_stem
from .._render.titles import is_lesson_name
from .._trace.options import DATABASES, SWITCHES, TraceOptions, switched_off
from .._trace.titles import source_title as lesson_title

__all__ = [
    "DATABASE_NAMES",
    "Lesson",
    "LinkRequest",
    "Switches",
    "clamp_step",
    "discover_lessons",
    "lesson_title",
    "link_params",
    "parse_link",
]

DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
"""Each database a lesson can run on (``&db=``), as the page names it."""
assert tuple(DATABASE_NAMES) == DATABASES

_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"0", "false", "off", "no"})


@dataclass(frozen=True)
class Lesson:
    """A lesson file in the lessons folder."""

    stem: str
    """File name without ``.py``: the lesson's name in links."""
    title: str
    """The first markdown heading of the lesson (or the prettified stem)."""
    path: Path
    source: str | None = field(default=None, repr=False, compare=False)
    """The program text (None when the file is not UTF-8 text)."""


# path -> ((inode, mtime_ns, size), title, source): a file is read again only when it changed.
_READ: dict[str, tuple[tuple[int, int, int], str, str | None]] = {}
# folder -> (what its lessons' stats were, the lessons then): the app lists the lessons on every
# rerun (every step a reader takes), and a folder whose files did not change is listed as it was.
_LISTED: dict[str, tuple[tuple[tuple[str, tuple[int, int, int]], ...], list[Lesson]]] = {}


def _lesson_stats(folder: Path) -> tuple[tuple[str, tuple[int, int, int]], ...] | None:
    """Name, inode, mtime and size of each lesson file of ``folder`` in name order (one look at
    the folder, one ``stat`` per lesson); None when there is no such folder."""
    try:
        with os.scandir(folder) as entries:
            found = []
            for entry in entries:
                if is_lesson_name(entry.name) and entry.is_file():
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:  # removed since the folder was read
                        continue
                    found.append((entry.name, (stat.st_ino, stat.st_mtime_ns, stat.st_size)))
    except OSError:  # no such folder, or not one that can be read: no lessons
        return None
    return tuple(sorted(found))


def _read(path: Path, version: tuple[int, int, int]) -> tuple[str, str | None]:
    """The title and the text (None: not UTF-8) of one lesson file, read again when its
    ``version`` (inode, mtime, size) is not the one read last."""
    known = _READ.get(str(path))
    if known is None or known[0] != version:
        data = path.read_bytes()
        try:
            source: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            source = None
        title = lesson_title(data.decode("utf-8", errors="replace"), path.stem)
        known = _READ[str(path)] = (version, title, source)
    return known[1], known[2]


def discover_lessons(folder: Path) -> list[Lesson]:
    """The ``*.py`` lessons of ``folder`` in file-name order (``01_...``, ``02_...``).

    Costs one look at the folder and a ``stat`` per lesson when nothing changed; a file that
    changed (its time, size or inode: an editor that saves by renaming) is read again, and a
    new or removed one is seen at once.
    """
    stats = _lesson_stats(folder)
    if stats is None:
        return []
    listed = _LISTED.get(str(folder))
    if listed is not None and listed[0] == stats:
        return list(listed[1])
    lessons = []
    for name, version in stats:
        path = folder / name
        title, source = _read(path, version)
        lessons.append(Lesson(path.stem, title, path, source))
    _LISTED[str(folder)] = (stats, lessons)
    return list(lessons)


@dataclass(frozen=True)
class Switches:
    """The teacher's switches. The defaults run every lesson exactly as written."""

    expire_on_commit: bool = True
    """False: run as if every Session had ``expire_on_commit=False``."""
    autoflush: bool = True
    """False: run as if every Session had ``autoflush=False``."""
    presenter: bool = False
    """Larger type, sidebar out of the way."""
    predict: bool = True
    """Predict mode: a step with an ``Expect:`` line hides what happened until answered or revealed."""
    database: str = "sqlite"
    """The database of the "what if" run: ``postgresql`` runs the lesson on PostgreSQL too, and
    the page shows SQLite and PostgreSQL side by side."""

    @property
    def changed(self) -> bool:
        """True when a switch changes how the program runs (then the app compares two runs)."""
        return not all(getattr(self, switch.name) for switch in SWITCHES) or self.database != "sqlite"

    def trace_options(self) -> TraceOptions:
        """The options of the "what if" run."""
        return switched_off(
            (s.name for s in SWITCHES if not getattr(self, s.name)), TraceOptions(database=self.database)
        )


def _flag(params: Mapping[str, str], name: str, default: bool, problems: list[str]) -> bool:
    raw = params.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    shown = raw if len(raw) <= 20 else raw[:17] + "..."
    problems.append(f"“{name}={shown}” is not understood (use 0 or 1); it was ignored.")
    return default


@dataclass(frozen=True)
class LinkRequest:
    """What an address asked for, checked against the lessons that exist."""

    lesson: str | None
    """A lesson stem that exists (the lesson's new stem when the address used an old one; the
    first lesson when it named none or a wrong one)."""
    step: str | None
    """The raw ``step`` value, checked by :func:`clamp_step` once the lesson's steps are known."""
    switches: Switches = Switches()
    problems: list[str] = field(default_factory=list)
    """Messages for the reader about parts of the address that were not usable."""


def _database(params: Mapping[str, str], unavailable: str | None, problems: list[str]) -> str:
    raw = params.get("db")
    if raw is None:
        return "sqlite"
    choice = raw.strip().lower()
    if choice not in DATABASE_NAMES:
        shown = raw if len(raw) <= 20 else raw[:17] + "..."
        known = " or ".join(DATABASE_NAMES)
        problems.append(
            f"“db={shown}” is not a database sqlecho runs lessons on (use {known}); showing SQLite."
        )
        return "sqlite"
    if choice != "sqlite" and unavailable is not None:
        problems.append(f"{DATABASE_NAMES[choice]} is not available here: {unavailable} Showing SQLite.")
        return "sqlite"
    return choice


def parse_link(
    params: Mapping[str, str], stems: Sequence[str], *, postgres_unavailable: str | None = None
) -> LinkRequest:
    """Read ``lesson``, ``step``, the switches and the database from the query parameters
    (``postgres_unavailable``: why PostgreSQL cannot be had here, if it cannot)."""
    problems: list[str] = []
    lesson = params.get("lesson")
    if lesson is not None:
        lesson = current_stem(lesson, stems) or lesson  # an old link: the lesson's new name
    if lesson is not None and lesson not in stems:
        shown = lesson if len(lesson) <= 60 else lesson[:57] + "..."
        first = f"; showing {stems[0]!s} instead" if stems else ""
        problems.append(f"There is no lesson called “{shown}”{first}.")
        lesson = None
    if lesson is None:
        lesson = stems[0] if stems else None
    switches = Switches(
        **{switch.name: _flag(params, switch.name, True, problems) for switch in SWITCHES},
        presenter=_flag(params, "presenter", False, problems),
        predict=_flag(params, "predict", True, problems),
        database=_database(params, postgres_unavailable, problems),
    )
    return LinkRequest(lesson, params.get("step"), switches, problems)


def clamp_step(raw: str | None, count: int) -> tuple[int, str | None]:
    """A 1-based step within ``1..count`` from the address, and a message when it had to move.

    >>> clamp_step("999", 5)
    (5, 'This lesson has 5 steps; showing the last one.')
    """
    if raw is None or count < 1:
        return 1, None
    text = raw.strip()
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        shown = text if len(text) <= 20 else text[:17] + "..."
        return 1, f"“{shown}” is not a step number; showing step 1."
    number = int(text)
    if number < 1:
        return 1, f"Steps are numbered from 1; showing step 1 (the address asked for {number})."
    if number > count:
        return count, f"This lesson has {count} step{'s' * (count != 1)}; showing the last one."
    return number, None


def link_params(lesson: str, step: int, switches: Switches) -> dict[str, str]:
    """The query parameters that reopen exactly this view (switches only when not the defaults)."""
    params = {"lesson": lesson, "step": str(step)}
    for switch in SWITCHES:
        if not getattr(switches, switch.name):
            params[switch.name] = "0"
    if switches.presenter:
        params["presenter"] = "1"
    if not switches.predict:
        params["predict"] = "0"
    if switches.database != "sqlite":
        params["db"] = switches.database
    return params
