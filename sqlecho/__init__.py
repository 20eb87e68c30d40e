"""sqlecho: see the SQL your SQLModel/SQLAlchemy code sends, why, and what it did to your objects."""

from ._record.capture import Capture, capture
from ._record.objects import ObjectState
from ._trace.tracer import TRANSCRIPT_VERSION, TraceOptions, trace, trace_source

__version__ = "0.1.0"

__all__ = [
    "TRANSCRIPT_VERSION",
    "Capture",
    "ObjectState",
    "TraceOptions",
    "__version__",
    "capture",
    "trace",
    "trace_source",
]
