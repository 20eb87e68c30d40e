"""The lesson page (the app's default page): see sqlecho._app_lesson."""

from pathlib import Path

from sqlecho._app_lesson import lesson_page

lesson_page(Path(__file__).resolve().parent.parent)
