"""``sqlecho.show(path_or_transcript)``: a whole lesson or transcript, inline in a notebook.

The output is the exported page's viewer (:func:`sqlecho._render.export.step_viewer`) as plain
``text/html``, with the terminal transcript as its ``text/plain`` form: JupyterLab, Notebook 7
and VS Code show it without any front-end extension, and a terminal IPython prints the text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._render.code import esc
from .._render.export import lesson_title, step_viewer
from .._render.text import format_transcript
from .._sandbox.runner import run_sandboxed
from .._trace.options import Runner, TraceOptions

__all__ = ["display_transcript", "show", "viewer_bundle"]


def viewer_bundle(
    transcript: Mapping[str, Any], source: str, *, title: str | None = None, follow_address: bool = False
) -> dict[str, str]:
    """The ``text/html`` and ``text/plain`` forms of a transcript's viewer."""
    html = step_viewer(transcript, source, title=title, follow_address=follow_address)
    if title:
        html = f"<h2>{esc(title)}</h2>{html}"
    return {"text/html": html, "text/plain": format_transcript(dict(transcript), source)}


def display_transcript(
    transcript: Mapping[str, Any], source: str, *, title: str | None = None, follow_address: bool = False
) -> None:
    """Show a transcript as the current cell's output (printed as text outside IPython)."""
    bundle = viewer_bundle(transcript, source, title=title, follow_address=follow_address)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: the terminal transcript
        print(bundle["text/plain"])
        return
    if get_ipython() is None:
        print(bundle["text/plain"])
        return
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


def show(
    what: str | os.PathLike[str] | Mapping[str, Any],
    *,
    source: str | None = None,
    runner: Runner = run_sandboxed,
) -> None:
    """Show a lesson (a file, traced now) or a transcript inline, with the exported page's viewer.

    Args:
        what: a Python file (a ``# %%`` lesson or any script), or a transcript.
        source: the traced program's text, for a transcript (default: read from the file its
            ``source`` field names, when there is one).
        runner: traces a file; default: in a sandboxed worker process, so that the program's
            models and sessions never mix with the notebook's own.

    Raises:
        FileNotFoundError: ``what`` names no file.
        ValueError: ``what`` is a mapping without ``steps``.
    """
    if isinstance(what, Mapping):
        if not isinstance(what.get("steps"), list):
            raise ValueError("sqlecho.show: a transcript needs a 'steps' list")
        if source is None:
            named = Path(str(what.get("source", "")))
            source = named.read_text(encoding="utf-8-sig") if named.is_file() else ""
        stem = Path(str(what.get("source", "transcript"))).stem
        display_transcript(what, source, title=lesson_title(what, stem))
        return
    path = Path(what)
    if not path.is_file():
        raise FileNotFoundError(f"sqlecho.show: no such file: {path}")
    text = path.read_text(encoding="utf-8-sig")
    transcript = runner(text, path, TraceOptions(), str(path))
    display_transcript(transcript, text, title=lesson_title(transcript, path.stem))
