"""The "Your code" page: see sqlecho._app.your_code_page."""

from pathlib import Path

from sqlecho._app.your_code_page import user_code_page

user_code_page(Path(__file__).resolve().parent.parent)
