"""What the reader predicted, kept in their browser (``localStorage``), one entry per lesson.

A Streamlit session ends with its tab; the score must not. A small component (``st.components.v2``:
its script runs in the page itself, so it reaches the page's own ``localStorage``) reads the
lesson's entry once per session and hands it to Python, then writes whatever Python gives it.
Python stays the one source of truth while the page is open; the browser keeps a copy between
visits (a reload, a new tab, tomorrow). Nothing is sent anywhere else.

The entry of lesson ``stem`` is ``sqlecho.predict.<stem>``: ``{"steps": {"<0-based index>":
{"title": ..., "answers": [...], "right": [...]}}}``; a step whose title no longer matches (the
lesson was edited) is dropped when read.
"""

from __future__ import annotations

import functools
from typing import Any

import streamlit as st

from .._render.renamed import former_stems

__all__ = ["STORAGE_PREFIX", "browser_copy"]

STORAGE_PREFIX = "sqlecho.predict."
"""The ``localStorage`` key of a lesson's predictions is this and the lesson's stem."""

# Load once (save is null): report what is stored. Afterwards: write what Python sends, and
# report nothing, so that a write never causes another run.
_JS = """
export default function ({ data, setStateValue }) {
  if (!data || !data.key) return;
  let storage = null;
  try { storage = window.localStorage; } catch (error) { storage = null; }
  if (data.save === null || data.save === undefined) {
    let stored = null;
    try { stored = storage ? JSON.parse(storage.getItem(data.key) || "null") : null; } catch (error) { stored = null; }
    // A renamed lesson: what the reader answered under its old name, until they answer again.
    for (const key of data.former || []) {
      if (stored) break;
      try { stored = storage ? JSON.parse(storage.getItem(key) || "null") : null; } catch (error) { stored = null; }
    }
    setStateValue("stored", { key: data.key, value: stored });
    return;
  }
  try {
    if (!storage) return;
    if (Object.keys(data.save.steps || {}).length) storage.setItem(data.key, JSON.stringify(data.save));
    else storage.removeItem(data.key);
  } catch (error) { /* storage full or refused: the score lives as long as the tab */ }
}
"""


@functools.cache
def _component() -> Any:
    return st.components.v2.component("sqlecho_saved_predictions", js=_JS)


def browser_copy(stem: str, save: dict[str, Any] | None) -> tuple[bool, Any]:
    """Mount the lesson's storage bridge; returns (answered, what the browser had stored).

    With ``save`` None the bridge reads the browser's entry (answered turns True once it has,
    on a later run; the value is None when there was none); otherwise it writes ``save``.
    """
    key = STORAGE_PREFIX + stem
    result = _component()(
        key=f"saved_{stem}",
        data={"key": key, "save": save, "former": [STORAGE_PREFIX + old for old in former_stems(stem)]},
        default={"stored": None},
        on_stored_change=lambda: None,
        height=0,
    )
    stored = getattr(result, "stored", None)
    if isinstance(stored, dict) and stored.get("key") == key:
        return True, stored.get("value")
    return False, None
