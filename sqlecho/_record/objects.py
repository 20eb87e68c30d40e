"""ORM object states, labels, and snapshots that never disturb the objects they look at.

Everything here reads through ``sqlalchemy.inspect()`` and the instance ``__dict__``: an
attribute access on a mapped object could emit a lazy load or a refresh, which would change the
very program we are showing. Objects are held by weak reference, so that tracking them does not
keep them alive in the session's weak identity map either.
"""

from __future__ import annotations

import enum
import itertools
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import ColumnProperty, InstanceState, RelationshipProperty
from sqlalchemy.orm.base import instance_state

from .._transcript.values import jsonable

__all__ = ["ObjectRegistry", "ObjectState", "state_of"]


class ObjectState(enum.Enum):
    """The five states of an ORM object in SQLAlchemy's session lifecycle."""

    TRANSIENT = "transient"  # not in a session, no database identity
    PENDING = "pending"  # added to a session, INSERT not flushed yet
    PERSISTENT = "persistent"  # in a session, with a row in the database (flushed)
    DELETED = "deleted"  # DELETE flushed, transaction not committed yet
    DETACHED = "detached"  # has a database identity but no session


def state_of(state: InstanceState[object]) -> ObjectState:
    """The lifecycle state, from the InstanceState's flags (no SQL, no loading)."""
    if state.deleted:
        return ObjectState.DELETED
    if state.persistent:
        return ObjectState.PERSISTENT
    if state.pending:
        return ObjectState.PENDING
    if state.detached:
        return ObjectState.DETACHED
    return ObjectState.TRANSIENT


_LABEL = "_sqlecho_label"
"""The prefix of a registry's key for its label in an InstanceState's ``__dict__``."""
_REGISTRIES = itertools.count(1)


class ObjectRegistry:
    """Gives every ORM object a stable label (``Hero#1``) in order of first appearance.

    Labels belong to the object's InstanceState, not the object: SQLAlchemy still fires events
    (expiry on commit) for a state whose object was just freed, and those must keep the label
    the object had.
    """

    def __init__(self) -> None:
        # The label goes on the InstanceState itself (see label()), under a key of this
        # registry's own: another registry (another run, another capture) keeps its own.
        self._key = f"{_LABEL}_{next(_REGISTRIES)}"
        # (label, weak reference to its state), in order of first appearance. Dead references
        # are dropped when the list is read (alive()) or has doubled since the last sweep.
        self._states: list[tuple[str, weakref.ref[InstanceState[object]]]] = []
        self._sweep_at = 1024
        self._counts: dict[str, int] = {}
        self._orders: dict[str, int] = {}
        self._mapper_keys: dict[object, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def label(self, target: object) -> str:
        """The label of an object (or its InstanceState), assigning the next one on first sight."""
        state: InstanceState[object] = target if isinstance(target, InstanceState) else instance_state(target)
        # Asked for thousands of times per run: the label lives in the state's own __dict__ (no
        # attribute of the ORM's, so no observer effect). A merge() makes a new state, hence a
        # new label.
        cached: str | None = state.__dict__.get(self._key)
        if cached is not None:
            return cached
        name = state.class_.__name__
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        label = f"{name}#{count}"
        self._orders[label] = len(self._orders)
        self._states.append((label, weakref.ref(state)))
        if len(self._states) >= self._sweep_at:
            self._sweep()
        state.__dict__[self._key] = label
        return label

    def _sweep(self) -> None:
        """Drop the entries of freed states: a program that makes objects by the million keeps
        only the live ones here."""
        self._states = [(label, ref) for label, ref in self._states if ref() is not None]
        self._sweep_at = max(1024, 2 * len(self._states))

    def order(self, label: str) -> int:
        """Sort key of a label: order of first appearance (unknown labels last)."""
        return self._orders.get(label, len(self._orders))

    def alive(self) -> list[tuple[str, object]]:
        """(label, object) for every tracked object still alive, in order of first appearance."""
        self._sweep()
        pairs = []
        for label, ref in self._states:
            state = ref()
            obj = state.obj() if state is not None else None
            if obj is not None:
                pairs.append((label, obj))
        return pairs

    def labels_of(self, objects: Iterable[object]) -> list[str]:
        """Labels of ``objects``, in order of first appearance."""
        labels = [self.label(obj) for obj in objects]
        return sorted(labels, key=self.order)

    def _keys(self, mapper: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        keys = self._mapper_keys.get(mapper)
        if keys is None:
            try:
                keys = (
                    tuple(attr.key for attr in mapper.column_attrs),
                    tuple(rel.key for rel in mapper.relationships),
                )
            except InvalidRequestError:
                # The program's mappers failed to configure (a relationship to a class it has
                # not defined yet): read the properties as declared, and ask again next time.
                declared = list(mapper._props.values())
                return (
                    tuple(prop.key for prop in declared if isinstance(prop, ColumnProperty)),
                    tuple(prop.key for prop in declared if isinstance(prop, RelationshipProperty)),
                )
            self._mapper_keys[mapper] = keys
        return keys

    def snapshot(
        self, obj: object, label: str, names: list[str], sessions: Mapping[int, str] | None = None
    ) -> dict[str, object]:
        """The OBJECT record of the transcript for ``obj``. Reads nothing that could load.

        ``sessions`` maps a session's ``hash_key`` to its name in the step; the record's
        ``session`` is the name of the session that holds the object, or None.
        """
        state: InstanceState[object] = inspect(obj)
        columns, relationships = self._keys(state.mapper)
        loaded = state.dict
        values: dict[str, object] = {key: jsonable(loaded[key]) for key in columns if key in loaded}
        unloaded: list[str] = []
        # Setting an expired attribute fills it without taking it off expired_attributes; only
        # what is still missing would be loaded by the next access.
        expired_keys = {key for key in state.expired_attributes if key not in loaded}
        for key in relationships:
            if key in loaded:
                values[key] = self._related(loaded[key])
            elif key not in expired_keys:
                unloaded.append(key)
        identity = state.identity
        return {
            "label": label,
            "class": type(obj).__name__,
            "names": names,
            "state": state_of(state).value,
            "identity": jsonable(list(identity)) if identity is not None else None,
            "values": values,
            "expired": sorted(expired_keys),
            "unloaded": unloaded,
            "session": (sessions or {}).get(state.session_id) if state.session_id is not None else None,
        }

    def _related(self, value: Any) -> Any:
        """A relationship's loaded value as labels: one object, or a collection of them."""
        if value is None:
            return None
        if hasattr(type(value), "_sa_class_manager"):  # a mapped object (looked up on its class)
            return self.label(value)
        items = value.values() if isinstance(value, Mapping) else value
        return [self.label(item) for item in items]
