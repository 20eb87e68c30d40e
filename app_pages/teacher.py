"""The teacher page (``/teacher``): see sqlecho._app.classroom.pages."""

from pathlib import Path

from sqlecho._app.classroom.pages import teacher_page
from sqlecho._app.view import page_config

teacher_page(page_config(Path(__file__).resolve().parent.parent))
