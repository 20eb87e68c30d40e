"""Statement text as tests compare it: whitespace folded.

What a statement is and what kind it is are defined once, in :mod:`.counting`.
"""

from __future__ import annotations

__all__ = ["fold"]


def fold(statement: str) -> str:
    """The statement with each run of whitespace (newlines too) folded to one space."""
    return " ".join(statement.split())
