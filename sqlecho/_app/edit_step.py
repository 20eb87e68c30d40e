"""Live edit on the lesson page: change a step's code, run, and see both runs side by side.

"What if we call ``refresh`` before the close?" **Edit this step** (or the E key) opens the step's
cell in an editor; **Run** traces the lesson again with the edited cell in place, every other
cell as written, and the page then shows the lesson as written beside the edited run, step by
step, with what changed named in sentences (:func:`sqlecho._render.diff.diff_transcripts` with
``edited=True``, which pairs cells by title since an edit moves the lines after it). More cells
can be edited; **Undo edits** returns to the lesson as written. The teacher's switches apply to
the edited run, so one comparison shows both.

An edited lesson is a pasted program: it runs in the sandbox with the limits and the admission of
"Your code", and only where that page may run code. A cell that is not valid Python is named as
such under the editor (line and column) and nothing runs.

The edits ride in the page's address (``&edits=``, :mod:`sqlecho._app.edits`), so a link
reproduces the edited lesson; opening one runs it in the sandbox and says that the code came from
the link.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from .._render.code import esc
from .._render.diff import TranscriptDiff, diff_transcripts, variant_label
from .._render.plain import md_literal, md_no_remote_images
from .._render.step import diff_summary, narrative_text
from .._sandbox.admission import AdmissionRefused, place_message
from .._sandbox.launch import sandbox_status
from . import keys
from .config import AppConfig
from .edits import (
    EDITS_PARAM,
    MAX_TEXT_CHARS,
    LinkError,
    apply_edits,
    cell_key,
    decode_edits,
    encode_edits,
    resolve_edits,
    syntax_problem,
)
from .lessons import Lesson, Switches
from .memo import Memo
from .programs import code_turned_off, program_path, run_memory
from .traces import Traced, TraceFailed, render_step
from .view import run_admission, runner_for, trace_cache

__all__ = [
    "EDIT_KEY_SCRIPT",
    "EditedRun",
    "edit_link",
    "edit_steps_button",
    "editing",
    "editor_style",
    "live_edit",
    "read_edit_link",
    "show_edited",
]

FROM_LINK = (
    "The code of the edited steps came from this page's link. It ran in the sandbox, like any pasted program."
)
"""What the page says about edits that a link brought."""

_LABEL = "your edits"


@dataclass(frozen=True)
class EditedRun:
    """The lesson run with the reader's edits, and how it compares with the lesson as written."""

    traced: Traced
    diff: TranscriptDiff
    label: str
    """What the edited run changed, for the sentences: ``your edits`` (and the switches)."""
    edited: frozenset[int]
    """The 0-based steps whose code was edited."""


def _edits(stem: str) -> dict[str, str]:
    edits: dict[str, dict[str, str]] = st.session_state.setdefault(keys.EDITS, {})
    return edits.setdefault(stem, {})


def _from_link() -> set[str]:
    found: set[str] = st.session_state.setdefault(keys.EDITS_FROM_LINK, set())
    return found


def read_edit_link(params: Mapping[str, str], stem: str | None) -> list[str]:
    """Take the edits of lesson ``stem`` from a page address that is new to this session (none
    in it: the lesson as written); returns messages about a link whose edits cannot be used."""
    state = st.session_state
    if stem is None or params.get("lesson") != stem:
        return []  # no lesson, or not the one the link named: its edits were made for another
    state[keys.EDIT_OPEN] = None
    _edits(stem).clear()
    _from_link().discard(stem)
    raw = params.get(EDITS_PARAM)
    if raw is None:
        return []
    try:
        _edits(stem).update(decode_edits(raw))
    except LinkError as exc:
        return [f"{exc} The lesson is shown as written."]
    _from_link().add(stem)
    return []


def edit_link(stem: str) -> dict[str, str]:
    """The address parameters of lesson ``stem``'s edits: none without edits, or when they are
    too long for a link (:func:`live_edit` says so)."""
    edits = st.session_state.get(keys.EDITS, {}).get(stem)
    if not edits:
        return {}
    try:
        return {EDITS_PARAM: encode_edits(edits)}
    except LinkError:
        return {}


def _open(stem: str, index: int) -> None:
    st.session_state[keys.EDIT_OPEN] = (stem, index)


def _close() -> None:
    st.session_state[keys.EDIT_OPEN] = None


def _keep_draft(stem: str, index: int) -> None:
    # The editor's own key is forgotten once another step is drawn: keep the text apart.
    state = st.session_state
    state[keys.edit(stem, index, "draft")] = state[keys.edit(stem, index, "code")]


def _run(stem: str, index: int, key: str) -> None:
    state = st.session_state
    code = str(state.get(keys.edit(stem, index, "code"), ""))
    state[keys.edit(stem, index, "draft")] = code
    problem = (
        f"This code is {len(code):,} characters long; the limit is {MAX_TEXT_CHARS:,}."
        if len(code) > MAX_TEXT_CHARS
        else syntax_problem(code)
    )
    if problem:
        state[keys.edit(stem, index, "problem")] = problem
        return
    state.pop(keys.edit(stem, index, "problem"), None)
    _edits(stem)[key] = code
    _from_link().discard(stem)
    state[keys.EDIT_OPEN] = None  # the room goes to the two runs; "Edit this step" reopens it


def editing(stem: str) -> bool:
    """Whether lesson ``stem`` is being edited: it has edits (a link's included), or its reader
    pressed **Edit steps**. The editor and the side-by-side view are drawn by the server, so a
    page that steps in the browser steps on the server while this holds."""
    return bool(_edits(stem)) or stem in st.session_state.get(keys.EDITING, set())


def _start_editing(stem: str) -> None:
    st.session_state.setdefault(keys.EDITING, set()).add(stem)
    st.session_state[keys.EDIT_OPEN] = None


def edit_steps_button(stem: str) -> None:
    """**Edit steps**, for a page that steps in the browser: the lesson then steps on the server,
    at the step the reader was last heard on, with **Edit this step** under each step."""
    st.button(
        "Edit steps",
        key=keys.EDIT_STEPS_BUTTON,
        icon=":material/edit:",
        type="tertiary",
        on_click=_start_editing,
        args=(stem,),
        help="Change a step's code and run the lesson again, beside the lesson as written.",
    )


def _undo(stem: str) -> None:
    state = st.session_state
    state.get(keys.EDITING, set()).discard(stem)  # back to the lesson as written, stepped as before
    _edits(stem).clear()
    _from_link().discard(stem)
    state[keys.EDIT_OPEN] = None
    for name in [name for name in state if str(name).startswith(f"edit_{stem}_")]:
        del state[name]


# The E key presses "Edit this step" (the keyboard's way in, presenter mode included), then puts
# the cursor in the editor once it is drawn; never while the reader types in a field. Without the
# button (a page where lessons cannot be edited), the key does nothing.
EDIT_KEY_SCRIPT = """<script>
(() => {
  const win = window.parent && window.parent.document ? window.parent : window;
  if (win.sqeEditKey) return;
  win.sqeEditKey = true;
  const doc = win.document;
  const typing = (el) => el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT"
    || (el.tagName === "INPUT" && !["radio", "checkbox", "button"].includes(el.type))
    || el.getAttribute("role") === "slider");
  win.addEventListener("keydown", (event) => {
    if (event.key !== "e" || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    const button = doc.querySelector(".st-key-edit_step button");
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
    let tries = 0;
    const focus = () => {
      const editor = doc.querySelector('[class*="st-key-edit_"][class*="_code"] textarea');
      if (editor) editor.focus();
      else if (tries++ < 50) win.setTimeout(focus, 100);
    };
    win.setTimeout(focus, 100);
  }, true);
})();
</script>"""


# The editor reads like the code it edits: monospaced, and at a projector as large as the code.
_EDITOR_STYLE = """<style>
[class*="st-key-edit_"][class*="_code"] textarea {
  font-family: "Source Code Pro", ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: .9rem; line-height: 1.45;
}
</style>"""
_EDITOR_PRESENTER = """<style>
[class*="st-key-edit_"][class*="_code"] textarea { font-size: 22px !important; }
.st-key-edit_bar p, .st-key-edit_step button p, .st-key-edit_run button p, .st-key-edit_close button p {
  font-size: 22px !important;
}
</style>"""


def editor_style(presenter: bool) -> str:
    """The editor's ``<style>`` elements, for the page's stylesheet: the lesson page draws them
    on every rerun with its own (they style nothing until an editor is open)."""
    return _EDITOR_STYLE + (_EDITOR_PRESENTER if presenter else "")


def _cell_code(source: str, lines: list[int]) -> str:
    first, last = lines
    return "\n".join(source.splitlines()[first - 1 : last])


def _off_reason(config: AppConfig) -> str | None:
    """Why edited lessons may not run here (as for "Your code"), or None when they may."""
    kind = runner_for(config, trusted=False)[1]
    return code_turned_off(
        config, str(sandbox_status()) if kind == "sandbox" and config.allow_user_code else ""
    )


def _editor(stem: str, index: int, key: str, original: str) -> None:
    """The open editor of step ``index``: the cell's code (as edited, else as written), Run,
    Close, and the syntax error of the last Run, if any."""
    state = st.session_state
    draft = keys.edit(stem, index, "draft")
    if draft not in state:
        state[draft] = _edits(stem).get(key, original)
    state[keys.edit(stem, index, "code")] = state[draft]
    rows = max(4, min(16, str(state[draft]).count("\n") + 2))
    st.text_area(
        "This step's code",
        key=keys.edit(stem, index, "code"),
        height=rows * 26 + 20,
        on_change=_keep_draft,
        args=(stem, index),
        help="The lesson runs again with this cell as you write it; every other cell stays as written.",
    )
    if problem := state.get(keys.edit(stem, index, "problem")):
        st.error(md_literal(str(problem)), icon=":material/error:")
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(
            "Run",
            key=keys.EDIT_RUN_BUTTON,
            type="primary",
            icon=":material/play_arrow:",
            on_click=_run,
            args=(stem, index, key),
            help="Run the lesson with this code, beside the lesson as written.",
        )
        st.button("Close the editor", key=keys.EDIT_CLOSE_BUTTON, icon=":material/close:", on_click=_close)


def _trace_edited(config: AppConfig, lesson: Lesson, source: str, switches: Switches) -> Traced | None:
    """The edited lesson traced like a pasted program (sandbox, limits, admission); None, with a
    message on the page, when the server refused it or the runner failed."""
    kind = runner_for(config, trusted=False)[1]
    cache = trace_cache(kind, "your code")
    path = program_path(kind).with_name(lesson.path.name)
    request = (source, path, switches.trace_options(), lesson.path.name)
    ticket = None
    try:
        if (traced := cache.peek(*request, config.user_limits)) is not None:
            return traced  # back at a step of a run already made: no spinner, no queue
        if kind == "sandbox":  # a pasted run like any other: it waits for its place
            ticket = run_admission(config.admission).enter(run_memory(cache, config.user_limits))
        with st.spinner("Running the lesson with your edits in the sandbox…", show_time=True):
            if ticket is not None and ticket.waiting:
                st.caption(place_message(ticket.ahead()))
                ticket.wait()
            return cache.trace(*request, limits=config.user_limits, private=kind != "in-process")
    except AdmissionRefused as exc:
        st.warning(str(exc), icon=":material/hourglass_disabled:")
    except TraceFailed as exc:
        st.error(f"The edited lesson could not be traced: {md_literal(str(exc))}")
    finally:
        if ticket is not None:
            ticket.leave()
    return None


_DIFFS: Memo[TranscriptDiff] = Memo(64)


def _compare(original: Traced, edited: Traced, label: str) -> TranscriptDiff:
    """The comparison of the two runs, computed once per pair for every reader of this server."""
    return _DIFFS.get(
        (original.key, edited.key, label),
        lambda: diff_transcripts(original.transcript, edited.transcript, label=label, edited=True),
    )


def live_edit(
    config: AppConfig, lesson: Lesson, traced: Traced, index: int, switches: Switches
) -> EditedRun | None:
    """The edit controls of step ``index`` (0-based) of ``traced`` (the lesson as written), and
    the lesson run with the reader's edits, when there are any (None: show the lesson as usual).
    """
    state = st.session_state
    stem, steps = lesson.stem, traced.steps
    edits = _edits(stem)
    off = _off_reason(config)
    if off is not None:
        if edits:
            st.warning(f"The edited steps were not run: {off}", icon=":material/edit_off:")
        return None
    key = cell_key(steps[index], index)
    by_index, problems = resolve_edits(edits, steps)
    # Without edits the bar is its one button, drawn alone: one block fewer on every step.
    bar = (
        st.container(key=keys.EDIT_BAR, horizontal=True, vertical_alignment="center", gap="small")
        if edits
        else contextlib.nullcontext()
    )
    with bar:
        st.button(
            "Edit this step",
            key=keys.EDIT_BUTTON,
            icon=":material/edit:",
            on_click=_open,
            args=(stem, index),
            help="Change this step's code and run the lesson again, beside the lesson as written (key: E).",
        )
        if edits:
            st.button(
                "Undo edits",
                key=keys.UNDO_EDITS_BUTTON,
                icon=":material/undo:",
                on_click=_undo,
                args=(stem,),
                help="Back to the lesson as written.",
            )
        if by_index:
            numbers = ", ".join(str(number + 1) for number in sorted(by_index))
            st.caption(f"Edited: step{'s' * (len(by_index) > 1)} {numbers}", width="content")
    if state.get(keys.EDIT_OPEN) == (stem, index):
        _editor(stem, index, key, _cell_code(traced.source, steps[index]["lines"]))
    for problem in problems:
        st.warning(md_literal(problem), icon=":material/link_off:")  # quotes the link
    if not by_index:
        return None
    if stem in _from_link():
        st.info(FROM_LINK, icon=":material/link:")
    try:
        encode_edits(edits)
    except LinkError as exc:
        st.caption(f"{exc} The address keeps the lesson and the step only.")
    source = apply_edits(traced.source, steps, by_index)
    edited = _trace_edited(config, lesson, source, switches)
    if edited is None:
        return None
    options = edited.transcript.get("options")
    label = _LABEL if not switches.changed else f"{_LABEL} and {variant_label(options or {})}"
    return EditedRun(edited, _compare(traced, edited, label), label, frozenset(by_index))


def show_edited(traced: Traced, index: int, run: EditedRun, lesson_title: str) -> None:
    """Step ``index`` (0-based) of the lesson as written beside the same step of the edited run:
    what changed in sentences, then the two codes (on an edited step), the two runs' events, and
    their objects, sessions and tables. Like the switches' comparison, with the edited code."""
    pair = run.diff.for_a(index)
    if text := narrative_text(traced.steps[index], lesson_title, source=traced.source):
        st.markdown(md_no_remote_images(text))
    st.html(diff_summary(pair, run.label))
    ours = render_step(traced, index, marks=pair.only_a, heading="As written")
    theirs = (
        render_step(run.traced, pair.b_index, marks=pair.only_b, heading=f"With {run.label}")
        if pair.b_index is not None
        else None
    )
    left, right = st.columns(2, gap="medium")
    if index in run.edited and theirs is not None:
        left.html(ours.code)
        right.html(theirs.code.replace('<div class="sqe-h">Code', '<div class="sqe-h">Edited code', 1))
        left, right = st.columns(2, gap="medium")
    else:
        st.html(ours.code)  # the same code in both runs: once, the width of the page
        left, right = st.columns(2, gap="medium")
    left.html(ours.events)
    if theirs is None:
        right.html(
            f'<div class="sqe-h">With {esc(run.label)}</div>'
            '<div class="sqe-empty">The edited program never gets here.</div>'
        )
        return
    right.html(theirs.events)
    left, right = st.columns(2, gap="medium")
    left.html(ours.objects + ours.database)
    right.html(theirs.objects + theirs.database)
