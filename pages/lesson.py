"""The lesson page (the app's default page): see sqlecho._app.lesson_page."""

from pathlib import Path

from sqlecho._app.lesson_page import lesson_page

lesson_page(Path(__file__).resolve().parent.parent)
