"""sqlecho in the browser: a Python Tutor for the ORM session.

    streamlit run app.py

Pages: the lessons (at the root address, ``/?lesson=<stem>&step=<N>``) and "Your code", where a
reader traces a program of their own in the sandbox (``SQLECHO_ALLOW_USER_CODE=0`` turns it off).
See docs/app.md for the switches and the settings.
"""

from pathlib import Path

import streamlit as st

from sqlecho._app.view import config_for

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="sqlecho", page_icon=":material/database:", layout="wide")
pages = [st.Page(ROOT / "pages" / "lesson.py", title="Lessons", icon=":material/school:", default=True)]
if config_for(ROOT).allow_user_code:
    pages.append(st.Page(ROOT / "pages" / "your_code.py", title="Your code", icon=":material/edit_note:"))
st.navigation(pages).run()
