"""``%load_ext sqlecho`` and the ``%%sqlecho`` cell magic.

The cell runs in the notebook's own namespace, as if it had no magic: its variables carry on, its
prints and its last expression's value appear as usual, and its error is raised again after the
step is shown. The output is the cell as a step (code, SQL with causes, state changes, object
cards), drawn by the same viewer as an exported lesson; its ``text/plain`` form is the terminal
transcript.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.magic import Magics, cell_magic, magics_class

from .._trace.notebook import CellTracer
from .viewer import display_transcript

__all__ = ["SqlechoMagics", "load_ipython_extension"]

_USAGE = "usage: %%sqlecho [--lines]  (--lines: one step per executed line of the cell)"


@magics_class
class SqlechoMagics(Magics):
    """The magics of one IPython shell; labels (``Hero#1``) last as long as the shell."""

    def __init__(self, shell: Any, tracer: CellTracer | None = None) -> None:
        super().__init__(shell)
        self.tracer = tracer or CellTracer()

    @cell_magic
    def sqlecho(self, line: str, cell: str) -> Any:
        """Run the cell as a traced step: ``%%sqlecho`` (one step) or ``%%sqlecho --lines``."""
        words = shlex.split(line)
        if any(word != "--lines" for word in words):
            print(f"sqlecho: unknown option {' '.join(w for w in words if w != '--lines')!r}; {_USAGE}")
            return None
        shell = self.shell
        assert shell is not None  # a Magics object is made for a shell
        # IPython syntax inside the cell (%magics, !commands) becomes Python first, as IPython does.
        source = shell.transform_cell(cell)  # type: ignore[no-untyped-call]
        result = self.tracer.run(source, shell.user_ns, lines="--lines" in words)
        display_transcript(result.transcript, source, follow_address=False)
        if result.error is not None:
            raise result.error
        return result.value


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%sqlecho`` with ``ipython`` (what ``%load_ext sqlecho`` calls)."""
    ipython.register_magics(SqlechoMagics(ipython))
