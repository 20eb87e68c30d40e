"""Text that strangers control, made harmless where it is shown.

Three places show such text: Streamlit markdown (messages about a link's parameters; narratives
and titles of pasted programs) and the terminal (``python -m sqlecho trace`` in text mode).

- :func:`md_literal`: shown character for character (no link, image, emphasis or heading).
- :func:`md_no_remote_images`: markdown as written, except that an image is its literal text, so
  a narrative cannot make the reader's browser fetch anything.
- :func:`terminal_safe`: control characters in ``\\xNN`` form, so that escape sequences (window
  title, OSC 52 clipboard, cursor moves) are seen rather than obeyed.
"""

from __future__ import annotations

import re

__all__ = ["md_literal", "md_no_remote_images", "terminal_safe"]

# Every ASCII punctuation character: CommonMark lets a backslash escape any of them, and all of
# markdown's syntax (and Streamlit's :color[...] and $math$) is made of them.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Line breaks would start new blocks (a heading, a list, an indented code block) in a message.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Streamlit's markdown turns bare web and mail addresses into links after escapes are resolved
# (GFM "autolink literals": ``http://``, ``https://``, ``www.``, ``name@host``), so a backslash does
# not stop it; an invisible word joiner (U+2060) inside each of those patterns does.
_ADDRESS = re.compile(r"(?i)(?<=:)|(?<=@)|(?<=www)(?=\\?\.)")
_JOINER = "\u2060"
# C0 and C1 control characters and DEL, except tab and newline.
# C0 and C1 controls but newline and tab; lone surrogates too (UTF-8 cannot even write them).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def md_literal(text: str) -> str:
    """``text`` as markdown that shows exactly these characters, on one line.

    Every ASCII punctuation character is backslash-escaped, and a word joiner (invisible) follows
    each ``:`` and ``@`` and each ``www`` before a dot, so no address becomes a link.

    >>> md_literal("[click](https://evil)")
    '\\\\[click\\\\]\\\\(https\\\\:\\u2060\\\\/\\\\/evil\\\\)'
    """
    return _ADDRESS.sub(_JOINER, _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", text)))


def md_no_remote_images(text: str) -> str:
    """Markdown ``text`` with every image turned into its literal text; everything else as written.

    An image is the only markdown that loads from the network by itself (Streamlit's markdown does
    not render raw HTML). Every image, inline or by reference, starts with ``![``; escaping the
    bracket leaves a plain ``!`` and text, whatever precedes it (an escaped ``\\!`` included). In
    a code span the backslash shows, a small price for a rule with no exceptions.
    """
    return text.replace("![", "!\\[")


def terminal_safe(text: str) -> str:
    r"""``text`` with control characters other than newline and tab shown as ``\xNN``.

    >>> terminal_safe("a\x1b]0;pwned\x07b\tc")
    'a\\x1b]0;pwned\\x07b\tc'
    """
    return _CONTROLS.sub(_shown, text)


def _shown(match: re.Match[str]) -> str:
    number = ord(match[0])
    return f"\\x{number:02x}" if number < 0x100 else f"\\u{number:04x}"
