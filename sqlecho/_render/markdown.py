"""A small markdown to HTML converter for lesson narratives, where there is no Streamlit to do it.

It covers what lessons write: headings, paragraphs, bullet and numbered lists, block quotes,
fenced code, inline code, bold, italics, links and backslash escapes (``\\*`` is a star, as
in CommonMark; outside code). Every character of the text is escaped first
and markup is added only around escaped text, so a narrative cannot put its own HTML into a page.
Images become links (a page must make no request), and only ``http(s):``, ``mailto:`` and relative
links become anchors.
"""

from __future__ import annotations

import re

from .code import esc, highlight_python_lines

__all__ = ["markdown_html"]

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d+[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)\s*(\w*)")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_SAFE_URL = re.compile(r"^(https?:|mailto:|#|[\w./-]*$)", re.IGNORECASE)
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_HELD = re.compile("[\ue021-\ue07e]")
# An escaped character is held as a private-use character while the markup is found (so that no
# pattern sees it), then given back, escaped for HTML.
_HOLD = 0xE000


def _inline(text: str) -> str:
    """One line of markdown text as HTML: code spans are kept apart from the other markup."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_emphasis(text[last : match.start()]))
        out.append(f"<code>{esc(match[2].strip())}</code>")
        last = match.end()
    out.append(_emphasis(text[last:]))
    return "".join(out)


def _emphasis(text: str) -> str:
    def link(match: re.Match[str]) -> str:
        label, url = match[1], match[2]
        if _SAFE_URL.match(url):
            return f'<a href="{esc(url)}" rel="noopener" target="_blank">{esc(label) or esc(url)}</a>'
        return esc(label)

    text = _ESCAPED.sub(lambda match: chr(_HOLD + ord(match[1])), text)
    parts: list[str] = []
    last = 0
    for match in _LINK.finditer(text):
        parts.append(esc(text[last : match.start()]))
        parts.append(link(match))
        last = match.end()
    parts.append(esc(text[last:]))
    html = "".join(parts)
    html = _BOLD.sub(r"<strong>\2</strong>", html)
    html = _ITALIC.sub(r"<em>\2</em>", html)
    return _HELD.sub(lambda match: esc(chr(ord(match[0]) - _HOLD)), html)


def markdown_html(text: str) -> str:
    """``text`` (markdown) as an HTML fragment."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    lines = text.splitlines()

    def close() -> None:
        nonlocal list_tag
        if paragraph:
            out.append(f"<p>{' '.join(_inline(line.strip()) for line in paragraph)}</p>")
            paragraph.clear()
        if items:
            out.append(f"<{list_tag}>{''.join(f'<li>{item}</li>' for item in items)}</{list_tag}>")
            items.clear()
            list_tag = ""

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if fence := _FENCE.match(line):
            close()
            body: list[str] = []
            while index < len(lines) and not lines[index].lstrip().startswith(fence[1]):
                body.append(lines[index])
                index += 1
            index += 1
            code = (
                "\n".join(highlight_python_lines("\n".join(body)))
                if fence[2] in ("", "python", "py")
                else esc("\n".join(body))
            )
            out.append(f'<pre class="sqe-md-code"><code>{code}</code></pre>')
        elif not line.strip():
            close()
        elif heading := _HEADING.match(line):
            close()
            level = len(heading[1])
            out.append(f"<h{level}>{_inline(heading[2])}</h{level}>")
        elif item := _BULLET.match(line) or _NUMBERED.match(line):
            tag = "ul" if item.re is _BULLET else "ol"
            if paragraph or (items and tag != list_tag):
                close()
            list_tag = tag
            items.append(_inline(item[1]))
        elif quote := _QUOTE.match(line):
            close()
            quoted = [quote[1]]
            while index < len(lines) and (more := _QUOTE.match(lines[index])):
                quoted.append(more[1])
                index += 1
            out.append(f"<blockquote>{markdown_html(chr(10).join(quoted))}</blockquote>")
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + _inline(line.strip())  # a list item's continuation line
        else:
            if items:
                close()
            paragraph.append(line)
    close()
    return "\n".join(out)
