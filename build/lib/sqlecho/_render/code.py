"""Syntax highlighting for Python and SQL, and short Python-style reprs of transcript values.

Everything a program wrote (its code, its strings, its printed output) reaches the page through
these functions, and every character of it is HTML-escaped here: a pasted program must not be
able to put markup into the page. Highlighting adds only ``<span class="sqe-...">`` around
escaped text. The standard library's tokenizer does Python; a small regex tokenizer does SQL.
"""

from __future__ import annotations

import builtins
import html
import io
import keyword
import re
import tokenize
from typing import Any

__all__ = ["esc", "format_sql", "highlight_python_lines", "highlight_sql", "py_repr"]

_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) - {"_"}
_STRING_TOKENS = {tokenize.STRING} | {
    getattr(tokenize, name)
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
    if hasattr(tokenize, name)
}

_SQL_KEYWORDS = frozenset(
    """
    select from where insert into values update set delete join left right full outer inner cross
    on and or not null is in as order by group having limit offset returning create table drop alter
    primary key foreign references unique check default index view distinct union all exists case
    when then else end like between asc desc begin commit rollback savepoint release to pragma
    integer varchar text boolean float datetime date numeric char real blob with recursive count
    """.split()
)
_SQL_TOKEN = re.compile(
    r"""(?P<comment>--[^\n]*)
      |(?P<string>'(?:[^']|'')*')
      |(?P<ident>"(?:[^"]|"")*")
      |(?P<param>\?|:\w+|%\(\w+\)s|\$\d+)
      |(?P<number>\b\d+(?:\.\d+)?\b)
      |(?P<word>\b[A-Za-z_][A-Za-z_0-9]*\b)""",
    re.VERBOSE,
)


def esc(value: Any) -> str:
    """HTML-escape ``value`` (quotes included, so that it is safe inside attributes too)."""
    return html.escape(str(value), quote=True)


def _span(cls: str, text: str) -> str:
    """``text`` escaped in a span; a span never crosses a line break, so lines can be split apart."""
    escaped = esc(text)
    if not text:
        return ""
    return "\n".join(f'<span class="sqe-{cls}">{part}</span>' if part else "" for part in escaped.split("\n"))


_MARKER_DATA = re.compile(r"^(\s*#\s*%%.*?)[ \t]+(?:tags=\[|[A-Za-z_]+=\").*?(\r?\n)?$")


def highlight_python_lines(source: str) -> list[str]:
    """One HTML string per line of ``source`` (``source.splitlines()`` order), highlighted.

    A program that does not tokenize (a syntax error in a pasted script) is shown escaped but plain.
    """
    # A cell marker's metadata (tags, an exercise's check and hint) is the teacher's, not the
    # program's; shown, a check would give its answer away. The marker keeps its title.
    source = "".join(_MARKER_DATA.sub(r"\1\2", line) for line in source.splitlines(keepends=True))
    lines = source.splitlines()
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    pieces: list[str] = []
    position = 0
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [esc(line) for line in lines]
    previous = ""
    for token in tokens:
        # ``hero.id`` is an attribute, not the builtin ``id``: only bare names are builtins.
        cls = _python_class(token, after_dot=previous == ".")
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            previous = token.string
        if cls is None:
            continue
        (srow, scol), (erow, ecol) = token.start, token.end
        if srow - 1 >= len(offsets) or erow - 1 >= len(offsets):
            continue
        start, end = offsets[srow - 1] + scol, offsets[erow - 1] + ecol
        if start < position:
            continue
        pieces.append(esc(source[position:start]))
        pieces.append(_span(cls, source[start:end]))
        position = end
    pieces.append(esc(source[position:]))
    highlighted = "".join(pieces).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return highlighted[: len(lines)] + [""] * (len(lines) - len(highlighted))


def _python_class(token: tokenize.TokenInfo, after_dot: bool) -> str | None:
    if token.type == tokenize.COMMENT:
        return "com"
    if token.type in _STRING_TOKENS:
        return "str"
    if token.type == tokenize.NUMBER:
        return "num"
    if token.type == tokenize.NAME:
        if token.string in _KEYWORDS:
            return "kw"
        if token.string in _BUILTINS and not after_dot:
            return "bi"
    return None


def format_sql(statement: str) -> str:
    """A statement tidied for reading: SQLAlchemy's own line breaks, no blank lines or tab stops."""
    lines = [line.replace("\t", "    ").rstrip() for line in statement.strip("\n").splitlines()]
    return "\n".join(line for line in lines if line.strip()).strip()


def highlight_sql(statement: str) -> str:
    """HTML for a (formatted) SQL statement: keywords, strings, parameters, numbers, comments."""
    out: list[str] = []
    position = 0
    for match in _SQL_TOKEN.finditer(statement):
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "word":
            if text.lower() not in _SQL_KEYWORDS:
                continue
            kind = "kw"
        out.append(esc(statement[position : match.start()]))
        out.append(_span({"comment": "com", "string": "str", "number": "num"}.get(kind, kind), text))
        position = match.end()
    out.append(esc(statement[position:]))
    return "".join(out)


def py_repr(value: Any, limit: int = 80) -> str:
    """A JSON value as a Python reader expects it (None, True, 'text'), shortened past ``limit``."""
    text = _repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _repr(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_repr(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_repr(item)}" for key, item in value.items()) + "}"
    return repr(value)
