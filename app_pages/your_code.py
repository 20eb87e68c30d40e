"""The "Your code" page: see sqlecho._app.your_code_page."""

from pathlib import Path

from sqlecho._app.view import page_config
from sqlecho._app.your_code_page import user_code_page

user_code_page(page_config(Path(__file__).resolve().parent.parent))
