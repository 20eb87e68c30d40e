"""Eager loads a capture saw, and whether the program read what they loaded.

An eager load (``selectinload``, ``joinedload``, ``subqueryload``, or a relationship declared
``lazy="selectin"``/``"joined"``/``"subquery"``) fills a relationship of the objects a query
loads, at the cost of a query (selectin, subquery) or a join. When the program then reads that
relationship of none of them, the query or join was for nothing: the opposite of an N+1.

Which objects each eager load filled, read from what SQLAlchemy hands its own hooks:

- a **joined** load fills the relationship while the parent's row is processed, before the
  ORM's ``load`` event for that object: the relationship is in the object's ``__dict__`` then,
  and the query's compile state names it among its joined eager loads;
- a **subquery** load sends its statement while the first parent row is processed, and fills
  each parent before that parent's ``load`` event;
- a **selectin** load sends its statement after the parent rows, for a list of parent states
  that its loader holds (read from that frame, as the line locator reads the loader's frame).

Reads are reported by :mod:`.reads`. Nothing here reads an ORM attribute: ``__dict__`` and
``InstanceState`` only.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import TYPE_CHECKING

from sqlalchemy.orm import strategies

if TYPE_CHECKING:
    from sqlalchemy.orm import InstanceState, QueryContext, RelationshipProperty

from . import reads

__all__ = ["EagerLoad", "EagerLoads"]


def _code(names: tuple[str, ...], path: str) -> CodeType | None:
    """The code object of ``path`` (dotted) in the first of the loader classes ``names`` that
    this SQLAlchemy has (private names change across versions)."""
    for name in names:
        owner: object = getattr(strategies, name, None)
        for part in path.split("."):
            owner = getattr(owner, part, None)
        code = getattr(owner, "__code__", None)
        if isinstance(code, CodeType):
            return code
    return None


_SELECTIN = _code(("_SelectInLoader", "SelectInLoader"), "_load_for_path")
# A subquery load runs its SELECT from this helper, when the first parent row asks for it.
_SUBQUERY = _code(("_SubqueryLoader", "SubqueryLoader"), "_SubqCollections._load")
_SUBQUERY_LOADER = getattr(strategies, "_SubqueryLoader", None) or getattr(strategies, "SubqueryLoader", None)
# How far up from the statement's event to look for those frames.
_DEPTH = 40

# What ``relationship(lazy=...)`` says, as the loader it means (False is "joined").
_DEFAULTS: dict[object, str] = {
    "joined": "joined",
    False: "joined",
    "selectin": "selectin",
    "subquery": "subquery",
}


@dataclass
class EagerLoad:
    """One eager load of one relationship by one statement, and what it filled."""

    relationship: str
    """``Hero.team``."""
    loader: str
    """``"selectin"``, ``"joined"`` or ``"subquery"``."""
    default: bool
    """The relationship's own ``lazy=`` asks for this loader (no option needed)."""
    statement: int
    """Index, among the capture's events, of the statement that loaded it: the eager SELECT of
    a selectin or subquery load, the query with the JOIN of a joined load."""
    objects: list[str] = field(default_factory=list)
    """Labels of the objects whose relationship it filled."""
    used: bool = False
    """Whether the program read the relationship of one of them (inside the capture)."""


class EagerLoads:
    """The eager loads of one capture (see the module). ``start()`` and ``stop()`` bracket it."""

    def __init__(
        self,
        label: Callable[[object], str],
        failed: Callable[[BaseException], None],
    ) -> None:
        """Args:
        label: the capture's labels of objects (``Hero#1``).
        failed: told of an error here, which must never fail the program's load.
        """
        self._label = label
        self._failed = failed
        # Thread -> index of the statement it sent last, whose rows it loads now (none: the
        # thread's last statement went to an engine the capture does not watch).
        self._last: dict[int, int] = {}
        self.loads: list[EagerLoad] = []
        self._groups: dict[tuple[int, object, str], EagerLoad] = {}
        # (id(state), key) -> the load that filled it; the states are kept so that ids stay theirs
        # (states only: keeping the objects alive would keep them in the identity map).
        self._filled: dict[tuple[int, str], EagerLoad] = {}
        self._states: list[object] = []
        # Thread -> relationship -> index of the subquery load sent for the query being processed.
        self._subqueries: dict[int, dict[str, int]] = {}
        self._lock = threading.Lock()
        # (class manager, key) whose reads are reported already (ids: managers live as long as
        # their classes), and the joined relationships of the query whose rows load now: both
        # asked for once per object, answered once per class and per query.
        self._tracked: set[tuple[int, str]] = set()
        self._joined: tuple[object, list[RelationshipProperty[object]]] | None = None

    def start(self) -> None:
        reads.listen(self._read)

    def stop(self) -> None:
        reads.unlisten(self._read)
        self._filled.clear()
        self._states.clear()
        self._subqueries.clear()
        self._last.clear()
        self._tracked.clear()
        self._joined = None

    def _read(self, state: object, key: str) -> None:
        load = self._filled.get((id(state), key))
        if load is not None:
            load.used = True

    def _add(
        self, prop: RelationshipProperty[object], loader: str, statement: int, state: InstanceState[object]
    ) -> None:
        key = (statement, prop, loader)
        group = self._groups.get(key)
        if group is None:
            with self._lock:  # two threads may load rows of one statement (rarely)
                group = self._groups.get(key)
                if group is None:
                    relationship = f"{prop.parent.class_.__name__}.{prop.key}"
                    default = _DEFAULTS.get(prop.lazy) == loader
                    group = self._groups[key] = EagerLoad(relationship, loader, default, statement)
                    self.loads.append(group)
        filled = (id(state), prop.key)
        if filled not in self._filled:
            self._track(state, prop.key)
            self._states.append(state)
            group.objects.append(self._label(state))
        self._filled[filled] = group

    def sent(self, cause: str, number: int) -> None:
        """A statement was recorded as event ``number``, sent for ``cause``."""
        try:
            self._sent(cause, number)
        except Exception as error:  # noqa: BLE001 - never fail the statement under test
            self._failed(error)

    def unheard(self) -> None:
        """A statement this capture does not record was sent (another engine's): the rows this
        thread loads next are not from a statement of the capture."""
        thread = threading.get_ident()
        self._last.pop(thread, None)
        self._subqueries.pop(thread, None)

    def _sent(self, cause: str, number: int) -> None:
        thread = threading.get_ident()
        self._last[thread] = number
        if cause.startswith("selectin load ") and _SELECTIN is not None:
            self._subqueries.pop(thread, None)
            self._selectin(number)
            return
        prop = self._subquery_of_statement()
        if prop is None:
            self._subqueries.pop(thread, None)  # another statement: that query's rows are processed
            return
        self._subqueries.setdefault(thread, {})[f"{prop.parent.class_.__name__}.{prop.key}"] = number

    def _selectin(self, number: int) -> None:
        frame = _frame_of(_SELECTIN)
        if frame is None:
            return
        prop = getattr(frame.f_locals.get("self"), "parent_property", None)
        if prop is None:
            return
        for item in frame.f_locals.get("states") or ():
            state = item[0] if isinstance(item, tuple) else item
            self._add(prop, "selectin", number, state)

    @staticmethod
    def _subquery_of_statement() -> RelationshipProperty[object] | None:
        """The relationship whose subquery load sends the statement being recorded, or None."""
        if _SUBQUERY is None or _SUBQUERY_LOADER is None:
            return None
        frame = _frame_of(_SUBQUERY)
        # The row processor that asked for the rows is a closure of the loader (its ``self``).
        while frame is not None:
            loader = frame.f_locals.get("self")
            if isinstance(loader, _SUBQUERY_LOADER):
                prop: RelationshipProperty[object] = loader.parent_property
                return prop
            frame = frame.f_back
        return None

    def loaded(self, target: object, context: QueryContext) -> None:
        """The ORM's ``load`` event: ``target`` was just built from a row of ``context``'s query."""
        try:
            self._loaded(target, context)
        except Exception as error:  # noqa: BLE001 - never fail the load under test
            self._failed(error)

    def _track(self, state: InstanceState[object], key: str) -> None:
        """Have reads of ``key`` of ``state``'s class reported (once per class and key)."""
        manager = state.manager
        if (id(manager), key) not in self._tracked:
            self._tracked.add((id(manager), key))
            reads.track(manager.get(key))

    def _joined_of(self, context: QueryContext) -> list[RelationshipProperty[object]]:
        known = self._joined
        if known is not None and known[0] is context:
            return known[1]
        found = _joined(context)
        self._joined = (context, found)
        return found

    def _loaded(self, target: object, context: QueryContext) -> None:
        state: InstanceState[object] | None = getattr(target, "_sa_instance_state", None)
        if state is None:
            return
        mapper = state.manager.mapper
        if not mapper.relationships:
            return
        dict_ = state.dict
        joined: list[RelationshipProperty[object]] | None = None
        subqueries = self._subqueries.get(threading.get_ident(), {})
        for prop in mapper.relationships:
            if prop.key not in dict_:
                continue
            subquery = subqueries.get(f"{prop.parent.class_.__name__}.{prop.key}")
            if subquery is not None:
                self._add(prop, "subquery", subquery, state)
                continue
            statement = self._last.get(threading.get_ident())
            if statement is None:
                continue
            if joined is None:
                joined = self._joined_of(context)
            if any(other.key == prop.key and mapper.isa(other.parent) for other in joined):
                self._add(prop, "joined", statement, state)


def _frame_of(code: CodeType | None) -> FrameType | None:
    """The nearest frame up the stack that runs ``code``, or None."""
    frame: FrameType | None = sys._getframe(2)
    for _ in range(_DEPTH):
        if frame is None or frame.f_code is code:
            return frame
        frame = frame.f_back
    return None


def _joined(context: QueryContext) -> list[RelationshipProperty[object]]:
    """The relationships that ``context``'s query loads with a join (``joinedload`` or
    ``lazy="joined"``, not ``contains_eager``, whose join is the program's own)."""
    attributes = getattr(getattr(context, "compile_state", None), "attributes", None) or {}
    found = []
    for key in attributes:
        if isinstance(key, tuple) and len(key) == 2 and key[0] == "eager_row_processor":
            path = key[1]
            if path and hasattr(path[-1], "parent") and hasattr(path[-1], "key"):
                found.append(path[-1])
    return found
