"""Every ``st.session_state`` key of the app, in one place.

Streamlit forgets a widget's state when the widget is not drawn in a run, so the reader's
position lives in plain keys, and each widget (``w_`` keys) is seeded from its plain key and
writes back through its callback. The values are part of the app's behaviour: tests and
browser sessions address widgets by them.
"""

from __future__ import annotations

__all__ = [
    "ADDRESS",
    "CANCEL_BUTTON",
    "CLEAR_SCORE_BUTTON",
    "CONFIG",
    "DB",
    "DB_PRESENTER_WIDGET",
    "DB_WIDGET",
    "DATABASE_WIDGET",
    "EDITS",
    "EDITS_FROM_LINK",
    "EDIT_BAR",
    "EDIT_BUTTON",
    "EDIT_CLOSE_BUTTON",
    "EDIT_OPEN",
    "EDIT_STEPS_BUTTON",
    "EDITING",
    "EDIT_RUN_BUTTON",
    "FROM_LESSON_BUTTON",
    "GOTO_ERROR_BUTTON",
    "LEAVE_PRESENTER_BUTTON",
    "LESSON",
    "LESSON_STEPS",
    "LESSON_WIDGET",
    "ENTER_PRESENTER_BUTTON",
    "EXERCISES_PASSED",
    "PREDICT",
    "PREDICT_LOADED",
    "PREDICT_PRESENTER_WIDGET",
    "REQUESTED_STEP",
    "RUN_BUTTON",
    "SCORE_BAR",
    "UNDO_EDITS_BUTTON",
    "UPLOAD_WIDGET",
    "USER_CODE",
    "USER_ADDRESS",
    "USER_CODE_WIDGET",
    "USER_LINKED",
    "USER_MESSAGE",
    "USER_NEW_RUN",
    "USER_RAN",
    "USER_RUNNING",
    "USER_STEPS",
    "WHOLE_PROGRAM_WIDGET",
    "edit",
    "BROWSER_EXERCISE",
    "BROWSER_STEPS",
    "VIEWER_LESSON",
    "VIEWER_MOUNT",
    "VIEWER_WIDGET",
    "exercise",
    "predict_form",
    "nav_button",
    "step",
    "step_bar",
    "step_widget",
    "switch",
    "switch_widget",
]

CONFIG = "_config"
"""The deployment's settings, read once per run by the app's frame for the page it runs."""

# The lesson page.
LESSON = "lesson"
"""The stem of the lesson on screen."""
REQUESTED_STEP = "_requested_step"
"""The step a link asked for, until the lesson is traced and the step can be checked."""
ADDRESS = "_address"
"""The query parameters last read or written, so that the page knows when the reader edited them."""
LESSON_WIDGET = "w_lesson"
"""The lesson picker."""
ENTER_PRESENTER_BUTTON = "enter_presenter"
"""The button beside the title that turns presenter mode on."""
LEAVE_PRESENTER_BUTTON = "leave_presenter"
"""The button that turns presenter mode off."""
PREDICT_PRESENTER_WIDGET = "w_predict_presenter"
"""Presenter mode's own predict-mode toggle (the sidebar is folded away there)."""
DB = "db"
"""The database of the compared run: ``sqlite`` (no comparison) or ``postgresql``."""
DB_WIDGET = "w_db"
"""The sidebar's Database switch."""
DB_PRESENTER_WIDGET = "w_db_presenter"
"""Presenter mode's own Database switch (the sidebar is folded away there)."""
EXERCISES_PASSED = "_exercises_passed"
"""Per lesson stem: the 0-based steps whose exercise the reader has passed."""
PREDICT = "_predict"
"""Per lesson stem, per 0-based step: the reader's prediction (answers, right or wrong, revealed)."""
PREDICT_LOADED = "_predict_loaded"
"""The lesson stems whose predictions stored in the browser have been read in this session."""
SCORE_BAR = "scorebar"
"""The score line at the top of a lesson."""
CLEAR_SCORE_BUTTON = "clear_score"
"""The button that forgets a lesson's predictions."""

# Live edit of a lesson's steps (sqlecho._app.edit_step).
EDITS = "_edits"
"""Per lesson stem: the edits that run, ``{cell: code}`` (cells named as in links)."""
EDITS_FROM_LINK = "_edits_from_link"
"""The lesson stems whose edits came from the page's link and are unchanged since."""
EDIT_OPEN = "_edit_open"
EDITING = "_editing"
"""Lessons whose reader asked to edit steps: the page steps on the server for them."""
EDIT_STEPS_BUTTON = "edit_steps"
"""The (stem, 0-based step) whose editor is open, if any."""
EDIT_BAR = "edit_bar"
"""The row of "Edit this step", "Undo edits" and the list of edited steps."""
EDIT_BUTTON = "edit_step"
"""The "Edit this step" button (the E key presses it)."""
EDIT_RUN_BUTTON = "edit_run"
"""The editor's Run button."""
EDIT_CLOSE_BUTTON = "edit_close"
"""The button that closes the editor, keeping the edits that ran."""
UNDO_EDITS_BUTTON = "undo_edits"
"""The button that returns the lesson to its original code."""


def edit(stem: str, index: int, what: str) -> str:
    """A step's editor (``code``), its text (``draft``) and its syntax error (``problem``)."""
    return f"edit_{stem}_{index}_{what}"


def predict_form(stem: str, index: int) -> str:
    """The prediction form of one step of a lesson (its widgets' keys start with this)."""
    return f"predict_{stem}_{index}"


def exercise(stem: str, index: int, what: str) -> str:
    """An exercise's widgets and records: ``code``, ``check`` (the button), ``result``, ``passed``."""
    return f"exercise_{stem}_{index}_{what}"


def switch(name: str) -> str:
    """A switch of the lesson page (``expire_on_commit``, ``autoflush``, ``presenter``)."""
    return name


def switch_widget(name: str) -> str:
    """The toggle of a switch."""
    return f"w_{name}"


# Step navigators: each page's navigator has its own prefix.
LESSON_STEPS = ""
"""The prefix of the lesson page's navigator."""
USER_STEPS = "u_"
"""The prefix of the "Your code" page's navigator."""


def step(prefix: str) -> str:
    """The 1-based step a navigator shows."""
    return f"{prefix}step"


def step_widget(prefix: str) -> str:
    """A navigator's slider."""
    return f"{prefix}w_step"


def step_bar(prefix: str) -> str:
    """A navigator's container (its CSS class is ``st-key-<this>``: the page's style and keyboard
    script find the bar by it)."""
    return f"{prefix}stepbar"


def nav_button(prefix: str, which: str) -> str:
    """A navigator's ``first``, ``prev``, ``next`` or ``last`` button."""
    return f"{prefix}{which}"


WHOLE_PROGRAM_WIDGET = "w_whole"
"""The "Whole program" expander."""
DATABASE_WIDGET = "w_database"
"""The "Database: committed rows" expander below the objects."""

# The lesson page stepping in the browser (sqlecho._app.browser_steps).
BROWSER_STEPS = "sqebrowser"
"""The container of the lesson's steps (its CSS class is ``st-key-sqebrowser``)."""
BROWSER_EXERCISE = "sqeexercise_"
"""The container of the exercise under step N (``sqeexercise_N``): hidden at once on another step."""
VIEWER_WIDGET = "sqe_viewer"
"""The component that holds every step of the lesson."""
VIEWER_LESSON = "_viewer_lesson"
"""The lesson the viewer last showed."""
VIEWER_MOUNT = "_viewer_mount"
"""Counts the lessons the viewer opened: the reporter of each visit is a new widget."""

# The "Your code" page.
USER_CODE = "user_code"
"""The program in the editor."""
USER_CODE_WIDGET = "w_user_code"
"""The editor."""
UPLOAD_WIDGET = "w_upload"
"""The file uploader."""
USER_MESSAGE = "user_message"
"""A one-time message about the last action (loaded, empty, too long)."""
USER_ADDRESS = "_user_address"
"""The ``code`` parameter last read from the "Your code" page's address, or written to it."""
USER_LINKED = "_user_linked"
"""The program the page's link brought (the page says so while it is the one shown)."""
USER_RAN = "user_ran"
"""The program as it was when Run was pressed: the one traced."""
RUN_BUTTON = "user_run_button"
"""The Run button."""
USER_NEW_RUN = "user_new_run"
"""Set by Run until its results are first drawn (they open on the failing step, if any)."""
USER_RUNNING = "user_running"
"""The trace in progress (a :class:`~sqlecho._app.your_code_page.Running`), until it ends."""
CANCEL_BUTTON = "user_cancel_button"
"""The Cancel button shown while a trace runs."""
FROM_LESSON_BUTTON = "user_from_lesson"
"""The button that copies the current lesson into the editor."""
GOTO_ERROR_BUTTON = "u_goto_error"
"""The button that jumps to the step that failed."""
