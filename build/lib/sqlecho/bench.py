"""``python -m sqlecho.bench``: the benchmarks moved to ``python -m benchmarks``.

They live in the top-level ``benchmarks/`` folder of a checkout, outside the installed package
(they need a development-only websocket client). This alias keeps old scripts working: it says
where they went, on stderr so that ``--json`` output stays one document, and forwards every flag.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

MOVED = "sqlecho.bench moved to `python -m benchmarks` (run it from a checkout of sqlecho; same flags)."


def main(argv: Sequence[str] | None = None) -> int:
    """Forward to ``benchmarks.__main__.main``; 2 when the checkout's ``benchmarks`` is not importable."""
    print(MOVED, file=sys.stderr)
    try:
        # By name, not by import statement: the benchmarks are not part of the installed package.
        moved = importlib.import_module("benchmarks.__main__")
    except ModuleNotFoundError:
        return 2
    status: int = moved.main(argv)
    return status


if __name__ == "__main__":
    sys.exit(main())
