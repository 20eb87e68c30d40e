"""The stylesheet of the app's HTML fragments, for the light and the dark theme alike.

Text colours are mixed with ``currentColor`` (the theme's own text colour), and tints are
translucent, so one stylesheet reads on a white and on a near-black background without knowing
which one it is on. State badges carry their own solid colour with white text, plus a shape and
a word, so that no information rests on colour alone.
"""

from __future__ import annotations

import re

__all__ = ["PRESENTER_CSS", "STYLE_CSS", "style_tag"]

STYLE_CSS = """
.sqe-code, .sqe-events pre, .sqe-params, .sqe-out, .sqe-vals td, .sqe-table td, .sqe-label, .sqe-chip {
  font-family: "Source Code Pro", ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
[data-testid="stTextArea"] textarea { font-family: "Source Code Pro", ui-monospace, monospace; font-size: .85rem; }
.sqe-h { font-weight: 700; font-size: 1.05rem; margin: 2px 0 8px; }
.sqe-h .sqe-note { font-weight: 400; margin-left: .5em; }
.sqe-h:not(:first-child) { margin-top: 14px; }
.sqe-empty, .sqe-none { opacity: .65; font-style: italic; }
.sqe-more { opacity: .75; font-style: italic; padding: 4px 2px; }

/* code with line numbers */
.sqe-code { font-size: .84rem; line-height: 1.55; border: 1px solid color-mix(in srgb, currentColor 16%, transparent);
  border-radius: 8px; padding: 6px 0; overflow-x: auto; }
[data-testid="stExpander"] .sqe-code { max-height: 34rem; overflow-y: auto; }
.sqe-line { display: grid; grid-template-columns: 3.2em 2.6em minmax(0, 1fr); align-items: baseline;
  white-space: pre-wrap; overflow-wrap: anywhere; border-left: 4px solid transparent; }
.sqe-line code { background: none; padding: 0; font-size: inherit; color: inherit; font-family: inherit; }
.sqe-ln { text-align: right; padding-right: .6em; opacity: .5; user-select: none; }
.sqe-line.sqe-current { background: color-mix(in srgb, #f0b400 20%, transparent); border-left-color: #d99a00; }
.sqe-line.sqe-current .sqe-ln { opacity: .9; font-weight: 700; }
.sqe-line.sqe-error-line { background: color-mix(in srgb, #e5484d 22%, transparent); border-left-color: #e5484d; }
.sqe-count { justify-self: center; font-size: .72rem; min-width: 1.7em; text-align: center; border-radius: 9px;
  padding: 0 .35em; color: color-mix(in srgb, #0969da 65%, currentColor);
  border: 1px solid color-mix(in srgb, #0969da 55%, transparent); user-select: none; }
.sqe-count.sqe-hot { background: #0969da; color: #fff; border-color: #0969da; font-weight: 700; }
.sqe-count.sqe-none { border: none; }

/* syntax colours: mixed with the text colour so that they read on light and dark backgrounds */
.sqe-kw { color: color-mix(in srgb, #a626a4 70%, currentColor); font-weight: 600; }
.sqe-bi { color: color-mix(in srgb, #0b7bc4 70%, currentColor); }
.sqe-str { color: color-mix(in srgb, #2e8b2e 75%, currentColor); }
.sqe-num, .sqe-param { color: color-mix(in srgb, #c2570c 75%, currentColor); font-weight: 600; }
.sqe-com { opacity: .6; font-style: italic; }
.sqe-sql .sqe-kw { color: color-mix(in srgb, #0969da 70%, currentColor); }

/* events */
.sqe-events { display: flex; flex-direction: column; gap: 6px; }
.sqe-ev { border-radius: 7px; font-size: .9rem; }
.sqe-where { font-size: .74rem; opacity: .65; margin-left: .6em; white-space: nowrap; }
.sqe-tx { padding: 3px 10px; letter-spacing: .04em; font-size: .82rem; border-left: 5px solid; }
.sqe-tx-begin { border-color: #0969da; background: color-mix(in srgb, #0969da 12%, transparent); }
.sqe-tx-commit { border-color: #1a7f37; background: color-mix(in srgb, #1a7f37 14%, transparent); }
.sqe-tx-rollback { border-color: #cf222e; background: color-mix(in srgb, #cf222e 14%, transparent); }
.sqe-sql { border: 1px solid color-mix(in srgb, currentColor 18%, transparent); padding: 6px 10px 7px; }
.sqe-sql pre { margin: 4px 0 2px; padding: 0; background: none; white-space: pre-wrap; word-break: break-word;
  font-size: .84rem; line-height: 1.45; color: inherit; }
.sqe-meta { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.sqe-params { font-size: .78rem; opacity: .85; white-space: pre-wrap; word-break: break-word; }
.sqe-note { font-size: .74rem; opacity: .7; }
.sqe-sql-error { color: color-mix(in srgb, #e5484d 80%, currentColor); font-size: .82rem; }
.sqe-cause { font-size: .74rem; font-weight: 600; padding: 0 .55em; border-radius: 10px; border: 1px solid;
  --c: #6e7781; border-color: color-mix(in srgb, var(--c) 70%, transparent);
  background: color-mix(in srgb, var(--c) 14%, transparent); color: color-mix(in srgb, var(--c) 70%, currentColor); }
.sqe-cause-query { --c: #0969da; } .sqe-cause-flush { --c: #1a7f37; } .sqe-cause-autoflush { --c: #bf3989; }
.sqe-cause-ddl { --c: #6e7781; } .sqe-cause-lazy { --c: #8250df; } .sqe-cause-expired { --c: #b35900; }
.sqe-cause-refresh { --c: #0a7ea4; }
.sqe-obj { padding: 2px 10px; font-size: .86rem; }
.sqe-out { margin: 0; padding: 5px 10px; font-size: .82rem; white-space: pre-wrap; word-break: break-word;
  background: color-mix(in srgb, currentColor 7%, transparent); border-left: 4px solid color-mix(in srgb,
  currentColor 35%, transparent); color: inherit; }
.sqe-out::before { content: "printed"; display: block; font-size: .68rem; opacity: .55; font-family: sans-serif; }
.sqe-stderr { color: color-mix(in srgb, #e5484d 80%, currentColor); }
.sqe-marked { outline: 2px dashed #d4760a; outline-offset: 1px; }
.sqe-only { font-size: .72rem; font-weight: 700; color: #fff; background: #b35900; border-radius: 4px; padding: 0 .45em; }
.sqe-diff { border-left: 5px solid #b35900; background: color-mix(in srgb, #d4760a 12%, transparent);
  padding: 6px 12px; border-radius: 6px; margin-bottom: 6px; font-size: .92rem; }
.sqe-diff ul { margin: 2px 0 0 1.1em; padding: 0; }
.sqe-diff.sqe-same { border-left-color: color-mix(in srgb, currentColor 35%, transparent);
  background: color-mix(in srgb, currentColor 5%, transparent); }

/* state badges: own solid colour, white text, shape and word */
.sqe-badge { display: inline-block; font-size: .74rem; font-weight: 700; padding: 0 .55em; border-radius: 10px;
  color: #fff; white-space: nowrap; line-height: 1.6; font-family: sans-serif; }
.sqe-st-transient { background: #57606a; } .sqe-st-pending { background: #9a6700; }
.sqe-st-persistent { background: #1a7f37; } .sqe-st-deleted { background: #cf222e; }
.sqe-st-detached { background: #6639ba; }
.sqe-label { font-weight: 700; }

/* object cards */
.sqe-objs { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px; }
.sqe-card { border: 1px solid color-mix(in srgb, currentColor 20%, transparent); border-radius: 9px; padding: 7px 10px; }
.sqe-card-detached { border-style: dashed; }
.sqe-card.sqe-changed { border: 2px solid #d99a00; }
.sqe-card-head { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.sqe-names { font-size: .78rem; opacity: .75; margin: 1px 0 4px; }
.sqe-tag { font-size: .7rem; font-weight: 700; border-radius: 4px; padding: 0 .4em;
  border: 1px solid #d99a00; color: color-mix(in srgb, #b35900 70%, currentColor); }
.sqe-tag-new { background: #d99a00; color: #000; }
.sqe-vals { border-collapse: collapse; width: 100%; font-size: .8rem; margin: 0; }
.sqe-vals th, .sqe-vals td { border: none; padding: 1px 4px; text-align: left; vertical-align: top; }
.sqe-vals th { font-weight: 600; opacity: .8; width: 38%; }
.sqe-vals td { word-break: break-word; }
.sqe-v-changed { background: color-mix(in srgb, #f0b400 26%, transparent); }
.sqe-v-loaded { background: color-mix(in srgb, #0969da 16%, transparent); }
.sqe-v-expired th, .sqe-v-unloaded th { font-style: italic; }
.sqe-v-expired td, .sqe-v-unloaded td { font-family: inherit !important; }
.sqe-v-new-expired { background: color-mix(in srgb, #b35900 16%, transparent); }
.sqe-new-expired { font-weight: 700; text-decoration: underline dotted; }
.sqe-vnote { font-size: .7rem; opacity: .8; font-style: italic; font-family: "Source Sans", sans-serif; white-space: nowrap; }
.sqe-ref { font-weight: 600; }

/* session and tables */
.sqe-session { border-collapse: collapse; font-size: .85rem; width: 100%; }
.sqe-session th { text-align: left; font-weight: 600; padding: 3px 8px 3px 0; white-space: nowrap; width: 7.5em;
  border: none; vertical-align: top; }
.sqe-session td { border: none; padding: 3px 0; }
.sqe-chip { display: inline-block; font-size: .78rem; padding: 0 .5em; margin: 1px 4px 1px 0; border-radius: 6px;
  border: 1px solid color-mix(in srgb, currentColor 28%, transparent); }
.sqe-chip-new { border: 2px solid #d99a00; font-weight: 700; }
.sqe-tables { display: flex; flex-direction: column; gap: 10px; }
.sqe-table-name { font-weight: 700; font-size: .86rem; margin-bottom: 2px; }
.sqe-table table { border-collapse: collapse; font-size: .8rem; margin: 0; }
.sqe-table th, .sqe-table td { border: 1px solid color-mix(in srgb, currentColor 18%, transparent);
  padding: 2px 8px; text-align: left; }
.sqe-table th { font-weight: 600; }
.sqe-row-new { background: color-mix(in srgb, #1a7f37 18%, transparent); }
.sqe-row-changed { background: color-mix(in srgb, #f0b400 24%, transparent); }
.sqe-row-gone { background: color-mix(in srgb, #cf222e 14%, transparent); text-decoration: line-through; }
.sqe-rowtag { font-size: .7rem; font-weight: 700; text-decoration: none; border: none !important; }

/* errors */
.sqe-err { border-radius: 8px; padding: 8px 12px; border-left: 6px solid; margin: 4px 0; font-size: .92rem; }
.sqe-err > div { margin: 2px 0; }
.sqe-unexpected { border-color: #cf222e; background: color-mix(in srgb, #cf222e 13%, transparent); }
.sqe-expected { border-color: #0969da; background: color-mix(in srgb, #0969da 11%, transparent); }
.sqe-limit { border-color: #b35900; background: color-mix(in srgb, #d4760a 15%, transparent); }
.sqe-err-head { font-weight: 700; }
.sqe-err-msg { font-family: "Source Code Pro", ui-monospace, monospace; font-size: .84rem; word-break: break-word; }
.sqe-status { display: inline-block; font-size: .8rem; padding: 1px 8px; border-radius: 6px;
  border: 1px solid color-mix(in srgb, currentColor 30%, transparent); }
"""

PRESENTER_CSS = """
.sqe-code, .sqe-sql pre, .sqe-out { font-size: 1.08rem !important; }
.sqe-ev, .sqe-session, .sqe-vals, .sqe-table table, .sqe-err, .sqe-diff { font-size: 1.05rem !important; }
.sqe-badge, .sqe-cause, .sqe-where, .sqe-count { font-size: .9rem !important; }
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] li { font-size: 1.3rem; }
"""


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
