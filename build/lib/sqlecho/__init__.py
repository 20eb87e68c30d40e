"""sqlecho: see the SQL your SQLModel/SQLAlchemy code sends, why, and what it did to your objects.

The public names load on first use (module ``__getattr__``): ``import sqlecho`` imports neither
SQLModel nor the ORM, so that the pytest plugin, which every pytest run of a project that
installs sqlecho loads, costs nothing until a test asks for it. Each public name reports
``sqlecho`` as its module, wherever it is defined.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._notebook.viewer import show
    from ._record.capture import Capture, capture
    from ._record.objects import ObjectState
    from ._trace.options import TraceOptions
    from ._trace.tracer import trace, trace_source
    from ._transcript.schema import TRANSCRIPT_VERSION

__version__ = "0.1.0"

# Public name -> the private module that defines it.
_HOMES = {
    "Capture": "._record.capture",
    "ObjectState": "._record.objects",
    "TRANSCRIPT_VERSION": "._transcript.schema",
    "TraceOptions": "._trace.options",
    "capture": "._record.capture",
    "show": "._notebook.viewer",
    "trace": "._trace.tracer",
    "trace_source": "._trace.tracer",
}

__all__ = [
    "Capture",
    "ObjectState",
    "TRANSCRIPT_VERSION",
    "TraceOptions",
    "__version__",
    "capture",
    "load_ipython_extension",
    "show",
    "trace",
    "trace_source",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    if hasattr(value, "__module__") and not isinstance(value, int):
        value.__module__ = __name__  # users see sqlecho.Capture, not the private module's path
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sqlecho``: register the ``%%sqlecho`` cell magic (IPython loads only then)."""
    from ._notebook.magic import load_ipython_extension as load

    load(ipython)


def __dir__() -> list[str]:
    """The public names (what ``dir()`` and tab completion should offer)."""
    return list(__all__)
