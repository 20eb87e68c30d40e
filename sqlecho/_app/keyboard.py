"""Keyboard stepping for the pages with a step bar.

Streamlit's own button shortcuts stop working while a sidebar radio or a switch has focus (the
radio takes the arrow keys for itself), so one listener on the window, in the capture phase,
steps the page's navigator wherever focus is, except in a text field or a slider, which need the
keys themselves. The navigator is found by its container's key (``<prefix>stepbar``), so the same
script serves the lesson page and "Your code". After a pick in the sidebar, focus leaves the radio
or switch that had it, and on a phone the sidebar, which covers the page there, folds away once a
lesson is picked.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["STEP_KEYS", "use_keyboard"]

STEP_KEYS = {"ArrowLeft": "prev", "ArrowRight": "next", "Home": "first", "End": "last"}
"""Key -> navigator button (see :func:`sqlecho._app.keys.nav_button`)."""

_SCRIPT = """<script>
(() => {
  const win = window.parent && window.parent.document ? window.parent : window;
  if (win.sqeKeyboard) return;
  win.sqeKeyboard = true;
  const doc = win.document;
  const keys = %(keys)s;
  const typing = (el) => el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT"
    || (el.tagName === "INPUT" && !["radio", "checkbox", "button"].includes(el.type))
    || el.getAttribute("role") === "slider");
  win.addEventListener("keydown", (event) => {
    const which = keys[event.key];
    if (!which || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || typing(event.target)) return;
    const bar = doc.querySelector('[class*="stepbar"][class*="st-key-"]');
    if (!bar) return;
    const prefix = (bar.className.match(/st-key-(\\S*)stepbar/) || [])[1];
    if (prefix === undefined) return;
    const button = bar.querySelector(`.st-key-${prefix}${which} button`);
    event.preventDefault();
    event.stopImmediatePropagation();
    if (button && !button.disabled) button.click();
  }, true);
  doc.addEventListener("change", (event) => {
    const sidebar = event.target.closest && event.target.closest('[data-testid="stSidebar"]');
    if (!sidebar) return;
    // Give the arrow keys back to the page.
    win.setTimeout(() => { if (doc.activeElement && doc.activeElement.blur) doc.activeElement.blur(); }, 0);
    if (event.target.type === "radio") foldOnPhone(sidebar);
  }, true);
  // A tap on a lesson sends no change event (the radio picks it from the label's click), so the
  // pick is heard as a click too: with a finger, a mouse, or the keyboard (the change above).
  doc.addEventListener("click", (event) => {
    const sidebar = event.target.closest && event.target.closest('[data-testid="stSidebar"]');
    if (sidebar && event.target.closest('[role="radiogroup"] label')) foldOnPhone(sidebar);
  }, true);
  // A move (a button of the bar, or a "revisit" button of the lesson summary) while the reader is
  // scrolled down the previous step: scroll back to where the bar sits in the page, so the new
  // step starts right below it (its question first) instead of somewhere in its middle.
  const scrollerOf = (el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
      const overflow = win.getComputedStyle(node).overflowY;
      if ((overflow === "auto" || overflow === "scroll") && node.scrollHeight > node.clientHeight) return node;
    }
    return doc.scrollingElement;
  };
  doc.addEventListener("click", (event) => {
    const target = event.target;
    if (!target.closest || !target.closest("button")) return;
    const moved = target.closest('[class*="stepbar"][class*="st-key-"]') || target.closest('[class*="st-key-revisit_"]');
    if (!moved) return;
    const bar = doc.querySelector('[class*="stepbar"][class*="st-key-"]');
    const wrapper = bar && (bar.closest('[data-testid="stLayoutWrapper"]') || bar);
    const before = wrapper && wrapper.previousElementSibling;
    if (!before) return;
    // Where the page's visible part starts: below Streamlit's header (the bar sticks there too).
    const header = doc.querySelector('[data-testid="stHeader"]');
    const top = header ? header.getBoundingClientRect().bottom : 0;
    const gap = before.getBoundingClientRect().bottom - top;
    if (gap < 0) scrollerOf(wrapper).scrollBy(0, gap);
  }, true);
  // The step slider's input is labelled by itself and by its group, both "Step": a screen reader
  // said "Step Step". Its own label is enough (React leaves an attribute it did not change alone).
  const nameSlider = () => doc.querySelectorAll('[class*="stepbar"] input[type="range"][aria-labelledby]')
    .forEach((input) => input.removeAttribute("aria-labelledby"));
  new win.MutationObserver(nameSlider).observe(doc.body, { childList: true, subtree: true });
  nameSlider();
  // On a phone the sidebar covers the page: once a lesson is picked, fold it away to show it.
  // Below Streamlit's 768 px breakpoint only, where the sidebar overlays rather than sits beside.
  let folding = 0;
  const foldOnPhone = (sidebar) => {
    if (win.innerWidth >= 768) return;
    win.clearTimeout(folding);
    folding = win.setTimeout(() => {
      const fold = sidebar.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (fold) fold.click();
    }, 0);
  };
})();
</script>"""


_KEYS = "{" + ", ".join(f'"{key}": "{button}"' for key, button in STEP_KEYS.items()) + "}"
_BLOCK = _SCRIPT % {"keys": _KEYS}


def use_keyboard(also: str = "") -> None:
    """Install the listener (once per browser tab; a style-like block takes no room), with the
    page's own ``<script>`` elements ``also`` in the same block."""
    st.html(_BLOCK + also, unsafe_allow_javascript=True)
