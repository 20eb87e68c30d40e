"""Edited lessons and pasted programs as links: the codec, and which cells an edit replaces.

A teacher prepares three variations of a lesson before class; a student sends "here is what I
tried". Both are addresses:

- ``/?lesson=<stem>&step=<N>&edits=<text>``: the lesson with some of its cells replaced. The text
  is the JSON object ``{cell: source}`` (a cell by its title, or by its 1-based step number when
  it has none), compressed with zlib and written in base64url without padding.
- ``/your_code?code=<text>``: a pasted program, the same way (its UTF-8 text, compressed).

A link is text from a stranger: decoding never fails with a traceback, only with a
:class:`LinkError` whose message is one plain sentence (the page shows it with ``md_literal``),
and it never expands to more than :data:`MAX_TEXT_CHARS` characters, whatever the link says.
Links are bounded too (:data:`MAX_LINK_CHARS`): a proxy in front of the app refuses longer
request lines, so an edit that does not fit says so instead of making a link that breaks.

This module is plain Python (no Streamlit): the page that uses it is
:mod:`sqlecho._app.edit_step`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CODE_PARAM",
    "EDITS_PARAM",
    "LinkError",
    "MAX_LINK_CHARS",
    "MAX_TEXT_CHARS",
    "apply_edits",
    "cell_key",
    "decode_code",
    "decode_edits",
    "encode_code",
    "encode_edits",
    "resolve_edits",
    "syntax_problem",
]

EDITS_PARAM = "edits"
"""The lesson page's query parameter that carries edited cells."""
CODE_PARAM = "code"
"""The "Your code" page's query parameter that carries a program."""
MAX_LINK_CHARS = 6000
"""The longest parameter a link may carry. nginx refuses a request line over 8 KiB by default
(``large_client_header_buffers``), and the rest of the address needs some of that."""
MAX_TEXT_CHARS = 100_000
"""The most text a link may expand to: the length limit of a pasted program."""

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# The subjects of the messages about a link (each takes a plural verb).
_CODE = "The link's lines of code"
_EDITS = "The link's edits"


class LinkError(ValueError):
    """A link's code cannot be used; the message is one sentence for the reader."""


def _pack(data: bytes, what: str) -> str:
    text = base64.urlsafe_b64encode(zlib.compress(data, 9)).rstrip(b"=").decode("ascii")
    if len(text) > MAX_LINK_CHARS:
        raise LinkError(
            f"{what} too long for a link: {len(text):,} characters once compressed, "
            f"and a link holds at most {MAX_LINK_CHARS:,}."
        )
    return text


def _unpack(text: str, what: str) -> bytes:
    """The bytes of a link's parameter; ``what`` names it in messages ("The edits in this link")."""
    text = text.strip()
    if not text:
        raise LinkError(f"{what} are empty.")
    if len(text) > MAX_LINK_CHARS:
        raise LinkError(f"{what} are too long ({len(text):,} characters; at most {MAX_LINK_CHARS:,}).")
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise LinkError(f"{what} cannot be read: the link was cut short or changed on the way.")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise LinkError(f"{what} cannot be read: the link was cut short or changed on the way.") from exc
    # UTF-8 takes up to 4 bytes a character; a link that expands beyond that is refused before
    # it has taken the memory (a few kilobytes of zlib can stand for gigabytes).
    limit = 4 * MAX_TEXT_CHARS
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, limit + 1)
    except zlib.error as exc:
        raise LinkError(f"{what} cannot be read: the link is damaged.") from exc
    if len(data) > limit or inflater.unconsumed_tail:
        raise LinkError(f"{what} expand to more than {MAX_TEXT_CHARS:,} characters.")
    if not inflater.eof:
        raise LinkError(f"{what} cannot be read: the link was cut short.")
    return data


def _text(data: bytes, what: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LinkError(f"{what} are not text.") from exc
    if "\x00" in text:
        raise LinkError(f"{what} hold binary data, not Python source.")
    if len(text) > MAX_TEXT_CHARS:
        raise LinkError(f"{what} expand to more than {MAX_TEXT_CHARS:,} characters.")
    return text


def encode_code(code: str) -> str:
    """The ``code`` parameter for a program.

    Raises:
        LinkError: the compressed program is longer than :data:`MAX_LINK_CHARS`.
    """
    return _pack(code.encode("utf-8"), "This program is")


def decode_code(text: str) -> str:
    """The program in a ``code`` parameter.

    Raises:
        LinkError: the parameter is not such a program (cut, changed, too big, not text).
    """
    return _text(_unpack(text, _CODE), _CODE)


def encode_edits(edits: Mapping[str, str]) -> str:
    """The ``edits`` parameter for ``{cell: source}`` (cells as :func:`cell_key` names them).

    Raises:
        LinkError: the compressed edits are longer than :data:`MAX_LINK_CHARS`.
    """
    data = json.dumps(dict(edits), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return _pack(data.encode("utf-8"), "These edits are")


def decode_edits(text: str) -> dict[str, str]:
    """The ``{cell: source}`` of an ``edits`` parameter.

    Raises:
        LinkError: the parameter is not such an object (cut, changed, too big, another shape).
    """
    raw = _text(_unpack(text, _EDITS), _EDITS)
    try:
        value: object = json.loads(raw)
    except ValueError as exc:
        raise LinkError(f"{_EDITS} cannot be read: they are not a list of cells and their code.") from exc
    if (
        not isinstance(value, dict)
        or not value
        or not all(isinstance(key, str) and isinstance(code, str) for key, code in value.items())
    ):
        raise LinkError(f"{_EDITS} cannot be read: they are not a list of cells and their code.")
    return value


def cell_key(step: Mapping[str, object], index: int) -> str:
    """How an edit names the cell of step ``index`` (0-based): its title, else its step number
    (a title survives an edit of the cells before it; a number is all an untitled cell has)."""
    title = step.get("title")
    return title if isinstance(title, str) and title else str(index + 1)


def resolve_edits(
    edits: Mapping[str, str], steps: Sequence[Mapping[str, object]]
) -> tuple[dict[int, str], list[str]]:
    """The 0-based steps that ``edits`` replace, with their code, and a message for each edit
    that names no cell of these ``steps`` (a link made for another version of the lesson)."""
    by_title: dict[str, int] = {}
    for number, step in enumerate(steps):
        by_title.setdefault(cell_key(step, number), number)
    found: dict[int, str] = {}
    problems: list[str] = []
    for key, code in edits.items():
        index = by_title.get(key)
        if index is None and re.fullmatch(r"[0-9]{1,6}", key) and 1 <= int(key) <= len(steps):
            index = int(key) - 1
        if index is None:
            shown = key if len(key) <= 60 else key[:57] + "..."
            problems.append(f"This lesson has no step “{shown}”; that edit was left out.")
            continue
        found[index] = code
    return found, problems


def apply_edits(source: str, steps: Sequence[Mapping[str, Any]], edits: Mapping[int, str]) -> str:
    """``source`` with the lines of each edited step (``steps[i]["lines"]``) replaced by its code,
    the other lines unchanged. Cells are replaced from the last one up, so that an edit that
    changes a cell's length does not move the lines of the cells still to replace."""
    lines = source.splitlines()
    for index in sorted(edits, key=lambda i: steps[i]["lines"][0], reverse=True):
        first, last = steps[index]["lines"]
        lines[first - 1 : last] = edits[index].rstrip("\n").splitlines()
    return "\n".join(lines) + "\n"


def syntax_problem(code: str) -> str | None:
    """One line, with the line and column, when ``code`` (one cell) is not valid Python; None
    when it is. Compiled, never run."""
    try:
        compile(code, "the cell", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        where += f", column {exc.offset}" if exc.lineno and exc.offset else ""
        return f"This code has a syntax error{where}: {exc.msg}. Nothing was run."
    except ValueError:  # a NUL byte
        return "This code contains a character Python cannot read (a NUL byte). Nothing was run."
    return None
