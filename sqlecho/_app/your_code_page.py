"""The "Your code" page: trace a program the reader pastes, uploads, or starts from a lesson.

Pasted programs run only in the sandbox (unless the operator chose ``SQLECHO_RUNNER=in-process``
for a single user's own machine), with the limits of ``SQLECHO_USER_LIMITS``. The reader's text
is kept in session state, so an error, a rerun or a visit to the lessons loses nothing.

A sandboxed trace runs in a thread of its own while the page waits for it in short slices, with a
Cancel button: Streamlit stops a run of the page only at its next Streamlit call, so a page that
waited inside the runner could not hear the press until the program ended (an endless loop: the
whole time limit).

Two server-wide rules come first. Without a working sandbox the page is off and says why, unless
the operator set ``SQLECHO_UNSANDBOXED_CODE=1`` (then it runs programs with a warning). And a run
must be admitted (:mod:`sqlecho._sandbox.admission`): while the server's places are taken the
reader sees their place in the queue ("2 runs ahead of yours"), refreshed every second by a
fragment, with a Cancel button that gives the place up.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, wait
from dataclasses import dataclass

import streamlit as st

from .._render.explain import describe_tampering, describe_truncation
from .._render.plain import md_literal
from .._sandbox.admission import Admission, AdmissionRefused, Ticket, place_message
from .._sandbox.launch import sandbox_status
from .._sandbox.limits import Limits
from .._sandbox.runner import RunCancelled
from .._trace.options import TraceOptions
from . import keys
from .config import AppConfig
from .edits import CODE_PARAM, MAX_TEXT_CHARS, LinkError, decode_code, encode_code
from .lessons import discover_lessons
from .programs import PROGRAM_NAME, code_turned_off, program_path, run_memory, sandbox_description
from .traces import TraceCache, Traced, TraceFailed, TraceRequest
from .view import navigator, run_admission, runner_for, show_step, trace_cache, unless_malformed, use_style

__all__ = [
    "CANCELLED",
    "MAX_SOURCE_CHARS",
    "STARTER",
    "Running",
    "user_code_page",
]

MAX_SOURCE_CHARS = MAX_TEXT_CHARS
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
FROM_LINK = "This program came from the page's link. It runs in the sandbox, like any pasted program."
"""What the page says over a program that a link brought."""
CANCELLED = "Stopped: you cancelled the run."
"""What the page says after Cancel (nothing of the run is shown or kept)."""
_POLL_S = 0.25
"""How often a waiting page makes a Streamlit call, the point where a press of Cancel is heard.
Each call redraws an (empty) element: a quarter second keeps Cancel prompt without keeping the
browser busy redrawing the page under the reader's pointer."""
_PLACE_EVERY_S = 1.0
"""How often a reader waiting for a place sees it updated."""
UNSANDBOXED_WARNING = (
    "This server runs pasted programs WITHOUT a sandbox (SQLECHO_UNSANDBOXED_CODE=1): they run as "
    "the server's user, can read its files and reach the network. Paste only code you trust."
)


@dataclass(frozen=True)
class Running:
    """A trace of the reader's program in progress, in a thread of its own."""

    code: str
    cancel: threading.Event
    """Set by the Cancel button: the runner kills the worker and the cache keeps nothing."""
    result: Future[Traced]
    ticket: Ticket | None = None
    """Its place in the server's admission (None: admitted by nobody, as in some tests)."""

    def stop(self) -> None:
        """Cancel: a waiting run leaves the queue, a running one is killed."""
        self.cancel.set()
        if self.ticket is not None:
            self.ticket.leave()

    @property
    def waiting(self) -> bool:
        """Still waiting for a place in the server's admission."""
        return self.ticket is not None and self.ticket.waiting and not self.cancel.is_set()

    @classmethod
    def start(
        cls, cache: TraceCache, request: TraceRequest, limits: Limits | None, ticket: Ticket | None = None
    ) -> Running:
        """Start tracing ``request`` (a private program: pasted code) in a new thread, once
        ``ticket`` is admitted; the place is given up when the trace ends."""
        cancel, result = threading.Event(), Future[Traced]()

        def work() -> None:
            try:
                if ticket is not None and not ticket.wait():
                    raise RunCancelled("the run left the queue")
                result.set_result(cache.trace(*request, limits=limits, private=True, cancel=cancel))
            except Exception as exc:  # noqa: BLE001 - handed to the page, which says what it was
                result.set_exception(exc)
            finally:
                if ticket is not None:
                    ticket.leave()

        threading.Thread(target=work, name="sqlecho-your-code", daemon=True).start()
        return cls(request[0], cancel, result, ticket)


@st.fragment(run_every=_PLACE_EVERY_S)
def _place_in_queue(running: Running) -> None:
    """The reader's place, redrawn every second; the whole page runs again once it is their turn."""
    if not running.waiting:
        st.rerun()
    assert running.ticket is not None
    st.info(place_message(running.ticket.ahead()), icon=":material/hourglass_top:")


def _cancellable_trace(
    cache: TraceCache, request: TraceRequest, limits: Limits | None, admission: Admission
) -> Traced | None:
    """The trace of ``request`` in the sandbox, once admitted, waited for with a Cancel button
    beside the spinner; None when the reader cancelled it (the page then says so and shows
    nothing), when the server refused it, or while it waits for a place (the page shows it).

    Raises:
        TraceFailed: the runner could not produce a transcript.
    """
    state = st.session_state
    running: Running | None = state.get(keys.USER_RUNNING)
    if running is not None and running.code != request[0]:
        running.stop()  # Run was pressed on another program: the old one is of no use
        running = None
    if running is None:
        if cache.peek(*request, limits) is not None:
            return cache.trace(*request, limits=limits, private=True)
        try:
            ticket = admission.enter(run_memory(cache, limits))
        except AdmissionRefused as exc:
            state.pop(keys.USER_RAN, None)
            st.warning(str(exc), icon=":material/hourglass_disabled:")
            return None
        running = state[keys.USER_RUNNING] = Running.start(cache, request, limits, ticket)
    if running.waiting:
        st.button("Cancel", icon=":material/stop:", key=keys.CANCEL_BUTTON, on_click=running.stop)
        _place_in_queue(running)
        return None
    if not running.cancel.is_set():
        with st.spinner("Running your program in the sandbox…", show_time=True):
            slot = st.empty()  # the Cancel button goes with the run it cancels
            slot.button("Cancel", icon=":material/stop:", key=keys.CANCEL_BUTTON, on_click=running.stop)
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


def _read_link() -> None:
    """Run the program of a ``?code=`` address new to this session; say what is wrong with one
    that cannot be read (the editor keeps what it had)."""
    state = st.session_state
    raw = st.query_params.get(CODE_PARAM)
    if raw is None or raw == state.get(keys.USER_ADDRESS):
        return
    state[keys.USER_ADDRESS] = raw
    try:
        code = decode_code(raw)
    except LinkError as exc:
        state[keys.USER_MESSAGE] = f"{exc} Nothing was run."
        return
    state[keys.USER_CODE] = state[keys.USER_LINKED] = code
    state[keys.USER_RAN] = code
    state[keys.step(keys.USER_STEPS)] = 1
    state[keys.USER_NEW_RUN] = True


def _write_link(code: str) -> None:
    """Keep the address a link to the program that ran (or say why it cannot be one)."""
    state = st.session_state
    try:
        link = encode_code(code)
    except LinkError as exc:
        st.caption(f"{exc} The address does not carry it.")
        st.query_params.pop(CODE_PARAM, None)
        return
    if st.query_params.get(CODE_PARAM) != link:
        st.query_params[CODE_PARAM] = link
    state[keys.USER_ADDRESS] = link


def user_code_page(
    config: AppConfig,
    *,
    status: str | None = None,
    admission: Admission | None = None,
    cache: TraceCache | None = None,
) -> None:
    """Draw the "Your code" page with the deployment's settings (read by the app's frame).

    Args:
        config: the settings.
        status: the sandbox's status line (default: this machine's, ``sandbox_status()``).
        admission: the server's admission of pasted runs (default: one per server process).
        cache: where traces are run and kept (default: the server's cache for pasted code).
    """
    state = st.session_state
    use_style(False)
    st.title("Your code", anchor=False)
    kind = runner_for(config, trusted=False)[1]
    if status is None and config.allow_user_code and kind == "sandbox":
        status = str(sandbox_status())
    if off := code_turned_off(config, status or ""):
        st.info(off)
        return
    if kind != "sandbox":
        st.caption("Programs run inside this server process.")
    elif status is not None and not status.startswith("bubblewrap"):
        st.warning(UNSANDBOXED_WARNING, icon=":material/warning:")
        st.caption(sandbox_description(status))
    else:
        st.caption(sandbox_description(status))
    _read_link()
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
    if code == state.get(keys.USER_LINKED):
        st.info(FROM_LINK, icon=":material/link:")
    cache = trace_cache(kind, "your code") if cache is None else cache
    request: TraceRequest = (code, program_path(kind), TraceOptions(), PROGRAM_NAME)
    try:
        if kind == "sandbox":
            admission = run_admission(config.admission) if admission is None else admission
            cancellable = _cancellable_trace(cache, request, config.user_limits, admission)
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
        _write_link(code)
        show_step(traced, index)
