"""Values as a transcript holds them: JSON-safe, deterministic, and short.

Used wherever a value of the program is written into a transcript (parameters, column values,
rows, messages), so that the same run always gives the same JSON.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_TEXT", "jsonable", "jsonable_row", "mask_addresses"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def mask_addresses(text: str) -> str:
    """Replace memory addresses (``<Hero at 0x7f...>``) so that transcripts are deterministic."""
    return _ADDRESS.sub(" at 0x...", text)


MAX_TEXT = 500


def _text(value: str) -> str:
    # Like echo's parameter display, long text is cut: a transcript shows values, not payloads.
    if len(value) <= MAX_TEXT:
        return value
    return f"{value[:MAX_TEXT]}... ({len(value) - MAX_TEXT} more characters)"


def jsonable(value: Any) -> Any:
    """A JSON-safe, deterministic stand-in for a column value or bound parameter."""
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return f"<{len(data)} bytes>" if len(data) > 32 else "0x" + data.hex()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    return _text(mask_addresses(repr(value)))


def jsonable_row(row: Any) -> Any:
    """:func:`jsonable` of one row (a tuple of parameters, or a row read from a table).

    Most rows are tuples of numbers, None and short strings: those are copied as they are,
    without the general conversion (measurable on thousands of statements).
    """
    if type(row) is not tuple:
        return jsonable(row)
    for value in row:
        kind = type(value)
        if kind is str:
            if len(value) > MAX_TEXT:
                return jsonable(row)
        elif kind is float:
            if not math.isfinite(value):
                return jsonable(row)
        elif kind is not int and kind is not bool and value is not None:
            return jsonable(row)
    return list(row)
