"""The "Your code" page: see sqlecho._app_user."""

from pathlib import Path

from sqlecho._app_user import user_code_page

user_code_page(Path(__file__).resolve().parent.parent)
