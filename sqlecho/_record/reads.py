"""Which relationships the program reads, for the unused-eager-load report.

SQLAlchemy has no event for reading an attribute: an eagerly loaded relationship sits in the
object's ``__dict__``, and ``hero.team`` returns it through the class's ``InstrumentedAttribute``
without calling anything else. So, while someone listens, each relationship attribute that an eager
load filled for some object has its ``__class__`` switched to a subclass whose ``__get__``
reports the read, then calls the original. The attribute object stays the same object
(``Hero.team`` in queries and options, its cache key, ``isinstance``), nothing is loaded or
sent, and the original class is put back when the last listener leaves. Reads from any thread
count (a response serialiser runs in a framework's worker thread); they reach every listener.

Only those are switched: a program that loads nothing up front reads every attribute at full
speed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

__all__ = ["Reader", "listen", "track", "unlisten"]

Reader = Callable[[object, str], None]
"""Called with the object's ``InstanceState`` and the relationship's key, on every read."""

_LOCK = threading.Lock()
# Who is told of reads; a tuple, replaced whole, so that a read in another thread iterates a
# consistent one without taking the lock.
_READERS: list[tuple[Reader, ...]] = [()]
# id(switched attribute) -> the attribute and its original class (by id: an attribute's ``==``
# builds SQL).
_SWITCHED: dict[int, tuple[InstrumentedAttribute[Any], type]] = {}
# Original class -> the subclass that reports reads (made once per class).
_SUBCLASSES: dict[type, type] = {}


def _reporting(base: type) -> type:
    """The subclass of ``base`` whose ``__get__`` reports reads of an instance's attribute."""
    known = _SUBCLASSES.get(base)
    if known is not None:
        return known
    original = base.__get__  # type: ignore[attr-defined]

    def __get__(self: Any, instance: object, owner: object) -> Any:  # noqa: N807 - the descriptor method
        if instance is not None:
            try:
                state = instance._sa_instance_state  # type: ignore[attr-defined]
                for reader in _READERS[0]:
                    reader(state, self.key)
            except Exception:  # noqa: BLE001, S110 - never fail the program's read
                pass
        return original(self, instance, owner)

    # No slots of its own: instances of ``base`` may switch to it and back (same layout). The
    # same cache key as ``base``: statements compiled meanwhile stay in SQLAlchemy's cache.
    namespace = {"__slots__": (), "__get__": __get__, "inherit_cache": True}
    made = type(f"Reported{base.__name__}", (base,), namespace)
    _SUBCLASSES[base] = made
    return made


def listen(reader: Reader) -> None:
    """Tell ``reader`` of every read of a tracked relationship from now on."""
    with _LOCK:
        _READERS[0] = (*_READERS[0], reader)


def unlisten(reader: Reader) -> None:
    """Stop telling ``reader``; with no listener left, every switched attribute is restored."""
    with _LOCK:
        readers = list(_READERS[0])
        if reader in readers:
            readers.remove(reader)
        _READERS[0] = tuple(readers)
        if readers:
            return
        for attribute, original in _SWITCHED.values():
            attribute.__class__ = original
        _SWITCHED.clear()


def track(attribute: object) -> None:
    """Report reads of ``attribute`` (a relationship's ``InstrumentedAttribute``) while someone
    listens. Cheap when done already."""
    if not isinstance(attribute, InstrumentedAttribute):
        return
    with _LOCK:
        if not _READERS[0] or id(attribute) in _SWITCHED:
            return
        original = type(attribute)
        attribute.__class__ = _reporting(original)
        _SWITCHED[id(attribute)] = (attribute, original)
