"""The "Your code" page: trace a program the reader pastes, uploads, or starts from a lesson.

Pasted programs run only in the sandbox (unless the operator chose ``SQLECHO_RUNNER=in-process``
for a single user's own machine), with the limits of ``SQLECHO_USER_LIMITS``. The reader's text
is kept in session state, so an error, a rerun or a visit to the lessons loses nothing.

A sandboxed trace runs in a thread of its own while the page waits for it in short slices, with a
Cancel button: Streamlit stops a run of the page only at its next Streamlit call, so a page that
waited inside the runner could not hear the press until the program ended (an endless loop: the
whole time limit).
"""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import Future, wait
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from .._render.explain import describe_tampering, describe_truncation
from .._render.plain import md_literal
from .._sandbox.launch import sandbox_status
from .._sandbox.limits import Limits
from .._sandbox.runner import RunCancelled
from .._trace.options import TraceOptions
from . import keys
from .config import AppConfig
from .lessons import discover_lessons
from .traces import TraceCache, Traced, TraceFailed, TraceRequest
from .view import navigator, runner_for, show_step, trace_cache, unless_malformed, use_style

__all__ = ["CANCELLED", "MAX_SOURCE_CHARS", "STARTER", "Running", "sandbox_description", "user_code_page"]

MAX_SOURCE_CHARS = 100_000
"""Longer programs are refused before they run."""

STARTER = """\
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)

with Session(engine) as session:
    session.add(Hero(name="Deadpond"))
    session.commit()
    hero = session.exec(select(Hero)).one()
    print(hero.name)
"""
CANCELLED = "Stopped: you cancelled the run."
"""What the page says after Cancel (nothing of the run is shown or kept)."""
_POLL_S = 0.1
"""How often a waiting page makes a Streamlit call, the point where a press of Cancel is heard."""
_NAME = "your_code.py"
# Literally /tmp: the one writable folder inside the sandbox, whatever TMPDIR says out here.
_PRIVATE_FOLDER = Path("/tmp/sqlecho-your-code")


def sandbox_description() -> str:
    """How pasted programs are contained on this server, in one sentence."""
    status = str(sandbox_status())
    confinement, _, whole_run = status.partition("; ")
    if confinement == "bubblewrap":
        note = (
            "Programs run in a bubblewrap sandbox as a user of their own, without privileges: no "
            "network, a private temporary folder, read-only system files, and limits on time, "
            "memory and output."
        )
    else:
        note = f"Programs run in a separate process with limits on time, memory and output ({confinement})."
    if whole_run.startswith("limits per process only"):
        note += f" Memory and processes are limited per process, not for a run as a whole ({whole_run})."
    return note


def _program_path(kind: str) -> Path:
    """Where the pasted program "lives". In the sandbox, a folder of the worker's private
    ``/tmp`` that exists only there: a folder of that name on this machine (which anyone could
    create) is never shown to the program. In this process it needs a real, empty folder."""
    if kind != "in-process":
        return _PRIVATE_FOLDER / _NAME
    folder = Path(tempfile.gettempdir()) / "sqlecho-your-code"
    folder.mkdir(exist_ok=True)
    return folder / _NAME


@dataclass(frozen=True)
class Running:
    """A trace of the reader's program in progress, in a thread of its own."""

    code: str
    cancel: threading.Event
    """Set by the Cancel button: the runner kills the worker and the cache keeps nothing."""
    result: Future[Traced]

    @classmethod
    def start(cls, cache: TraceCache, request: TraceRequest, limits: Limits | None) -> Running:
        """Start tracing ``request`` (a private program: pasted code) in a new thread."""
        cancel, result = threading.Event(), Future[Traced]()

        def work() -> None:
            try:
                result.set_result(cache.trace(*request, limits=limits, private=True, cancel=cancel))
            except Exception as exc:  # noqa: BLE001 - handed to the page, which says what it was
                result.set_exception(exc)

        threading.Thread(target=work, name="sqlecho-your-code", daemon=True).start()
        return cls(request[0], cancel, result)


def _cancellable_trace(cache: TraceCache, request: TraceRequest, limits: Limits | None) -> Traced | None:
    """The trace of ``request`` in the sandbox, waited for with a Cancel button beside the
    spinner; None when the reader cancelled it (the page then says so and shows nothing).

    Raises:
        TraceFailed: the runner could not produce a transcript.
    """
    state = st.session_state
    running: Running | None = state.get(keys.USER_RUNNING)
    if running is not None and running.code != request[0]:
        running.cancel.set()  # Run was pressed on another program: the old one is of no use
        running = None
    if running is None:
        if cache.peek(*request, limits) is not None:
            return cache.trace(*request, limits=limits, private=True)
        running = state[keys.USER_RUNNING] = Running.start(cache, request, limits)
    if not running.cancel.is_set():
        with st.spinner("Running your program in the sandbox…", show_time=True):
            slot = st.empty()  # the Cancel button goes with the run it cancels
            slot.button("Cancel", icon=":material/stop:", key=keys.CANCEL_BUTTON, on_click=running.cancel.set)
            pulse = st.empty()
            while not running.result.done():
                wait([running.result], timeout=_POLL_S)
                pulse.empty()  # a Streamlit call: where a press of Cancel stops this run of the page
            slot.empty()
    state.pop(keys.USER_RUNNING, None)
    try:
        if running.cancel.is_set():
            raise RunCancelled  # whether or not the worker had finished: the reader asked to stop
        return running.result.result()
    except RunCancelled:
        state.pop(keys.USER_RAN, None)
        st.info(CANCELLED)
        return None


def _typed() -> None:
    st.session_state[keys.USER_CODE] = st.session_state[keys.USER_CODE_WIDGET]


def _uploaded() -> None:
    state = st.session_state
    upload = state.get(keys.UPLOAD_WIDGET)
    if upload is None:
        return
    data = upload.getvalue()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        state[keys.USER_MESSAGE] = f"{upload.name} is not a text file in UTF-8; nothing was loaded."
        return
    if "\x00" in text:
        state[keys.USER_MESSAGE] = f"{upload.name} holds binary data, not Python source; nothing was loaded."
        return
    state[keys.USER_CODE] = text
    state[keys.USER_MESSAGE] = f"Loaded {upload.name}. Press Run to trace it."


def _from_lesson(config: AppConfig) -> None:
    state = st.session_state
    lessons = [lesson for lesson in discover_lessons(config.lessons_dir) if lesson.source is not None]
    chosen = next((lesson for lesson in lessons if lesson.stem == state.get(keys.LESSON)), None)
    chosen = chosen or (lessons[0] if lessons else None)
    if chosen is None or chosen.source is None:
        state[keys.USER_MESSAGE] = "There is no lesson to start from."
        return
    state[keys.USER_CODE] = chosen.source
    state[keys.USER_MESSAGE] = f"Started from the lesson {chosen.path.name}. Edit it, then press Run."


def _run() -> None:
    state = st.session_state
    code = state.get(keys.USER_CODE_WIDGET, state.get(keys.USER_CODE, ""))
    state[keys.USER_CODE] = code
    if not code.strip():
        state[keys.USER_MESSAGE] = "Paste a program first: the box is empty."
        state.pop(keys.USER_RAN, None)
    elif len(code) > MAX_SOURCE_CHARS:
        state[keys.USER_MESSAGE] = (
            f"This program is {len(code):,} characters long; the limit is {MAX_SOURCE_CHARS:,}."
        )
        state.pop(keys.USER_RAN, None)
    else:
        state[keys.USER_RAN] = code
        state[keys.step(keys.USER_STEPS)] = 1
        state[keys.USER_NEW_RUN] = True  # the results open where the program failed, if it did


def user_code_page(config: AppConfig) -> None:
    """Draw the "Your code" page with the deployment's settings (read by the app's frame)."""
    state = st.session_state
    use_style(False)
    st.title("Your code", anchor=False)
    if not config.allow_user_code:
        st.info("Tracing your own code is turned off on this server.")
        return
    kind = runner_for(config, trusted=False)[1]
    st.caption(sandbox_description() if kind == "sandbox" else "Programs run inside this server process.")
    state[keys.USER_CODE_WIDGET] = state.setdefault(keys.USER_CODE, STARTER)
    st.text_area(
        "Your program",
        key=keys.USER_CODE_WIDGET,
        height=320,
        on_change=_typed,
        help="Any SQLModel/SQLAlchemy script: '# %%' cells become steps, otherwise every line is a step.",
    )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button(
            "Run",
            icon=":material/play_arrow:",
            type="primary",
            key=keys.RUN_BUTTON,
            on_click=_run,
        )
        st.button(
            "Start from the current lesson",
            icon=":material/school:",
            key=keys.FROM_LESSON_BUTTON,
            on_click=_from_lesson,
            args=(config,),
        )
        st.file_uploader("Or upload a .py file", type=["py"], key=keys.UPLOAD_WIDGET, on_change=_uploaded)
    if message := state.pop(keys.USER_MESSAGE, None):
        st.info(md_literal(message))  # may quote an uploaded file's name
    code = state.get(keys.USER_RAN)
    if not code:
        return
    cache = trace_cache(kind, "your code")
    request: TraceRequest = (code, _program_path(kind), TraceOptions(), _NAME)
    try:
        if kind == "sandbox":
            cancellable = _cancellable_trace(cache, request, config.user_limits)
            if cancellable is None:
                return
            traced = cancellable
        else:  # in this process: nothing to kill, so nothing to cancel
            with st.spinner("Running your program…", show_time=True):
                traced = cache.trace(*request, limits=config.user_limits)
    except TraceFailed as exc:
        st.error(f"Your program could not be traced: {md_literal(str(exc))}")
        return
    with unless_malformed():  # a forged or broken transcript is one message, never a traceback
        steps = traced.steps
        if not steps:
            st.info("Your program ran, but it has no step to show (no code?).")
            return
        st.divider()
        status = traced.transcript.get("status")
        if traced.transcript.get("tampered"):
            st.error(md_literal(describe_tampering(traced.transcript["tampered"])))
        if traced.transcript.get("truncated"):
            st.warning(md_literal(describe_truncation(traced.transcript["truncated"])))
        failed = [number for number, step in enumerate(steps, 1) if step.get("error")]
        if state.pop(keys.USER_NEW_RUN, False) and failed and status in ("limit", "error"):
            state[keys.step(keys.USER_STEPS)] = failed[-1]
        if status in ("limit", "error") and failed:
            what = "was stopped by a limit" if status == "limit" else "raised an error"
            st.warning(f"Your program {what} at step {failed[-1]}: that step explains it.")
            st.button(
                f"Show step {failed[-1]}",
                key=keys.GOTO_ERROR_BUTTON,
                icon=":material/error:",
                on_click=state.update,
                kwargs={"u_step": failed[-1]},
            )
        index = navigator([step.get("title") for step in steps], keys.USER_STEPS) - 1
        show_step(traced, index)
