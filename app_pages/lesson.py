"""The lesson page (the app's default page): see sqlecho._app.lesson_page."""

from pathlib import Path

from sqlecho._app.lesson_page import lesson_page
from sqlecho._app.view import page_config

lesson_page(page_config(Path(__file__).resolve().parent.parent))
