"""The stylesheet of the app's HTML fragments, for the light and the dark theme alike.

Text colours are mixed with ``currentColor`` (the theme's own text colour), and tints are
translucent, so one stylesheet reads on a white and on a near-black background without knowing
which one it is on. State badges carry their own solid colour with white text, plus a shape and
a word, so that no information rests on colour alone.
"""

from __future__ import annotations

import base64
import functools
import re
from importlib.resources import files
from pathlib import Path

__all__ = ["FAVICON", "PRESENTER_CSS", "STYLE_CSS", "favicon_data_url", "style_tag"]

FAVICON = Path(str(files("sqlecho._render") / "favicon.png"))
"""The app's own icon (the page serves it itself: no request leaves for an icon font)."""


@functools.cache
def favicon_data_url() -> str:
    """The icon as a ``data:`` address (read once per process): for pages that must load nothing
    (the exported site), and for the app, which then neither reads nor serves a file per rerun."""
    return "data:image/png;base64," + base64.b64encode(FAVICON.read_bytes()).decode("ascii")


# Plain CSS files beside this module, read once per process: an editor and a linter see CSS.
STYLE_CSS = (files("sqlecho._render") / "style.css").read_text(encoding="utf-8")
PRESENTER_CSS = (files("sqlecho._render") / "presenter.css").read_text(encoding="utf-8")


def _minified(css: str) -> str:
    """The stylesheet without comments and runs of whitespace: it is sent with every rerun."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    return re.sub(r"\s*([{};,>])\s*", r"\1", re.sub(r"\s+", " ", css)).strip()


_TAGS = {
    False: f"<style>{_minified(STYLE_CSS)}</style>",
    True: f"<style>{_minified(STYLE_CSS + PRESENTER_CSS)}</style>",
}


def style_tag(presenter: bool = False) -> str:
    """The ``<style>`` element for the page (with the presenter's larger type when asked)."""
    return _TAGS[presenter]
