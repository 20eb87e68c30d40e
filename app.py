"""sqlecho in the browser: a Python Tutor for the ORM session.

    streamlit run app.py

The one frame of the app: it sets the page up, reads the deployment's settings and shows what
was wrong with them, once per run, then runs the page the address names. The pages are thin
shims in ``app_pages/`` (not ``pages/``, which Streamlit would also list on its own): the lessons
(at the root address, ``/?lesson=<stem>&step=<N>``) and "Your code", where a reader traces a
program of their own in the sandbox (``SQLECHO_ALLOW_USER_CODE=0`` turns it off), and "Teach a
class" (``/teacher``, docs/classroom.md). See docs/app.md for the switches and the settings.
"""

from pathlib import Path

import streamlit as st

from sqlecho._app.view import config_for
from sqlecho._render.css import favicon_data_url

ROOT = Path(__file__).resolve().parent
PAGES = ROOT / "app_pages"

# The icon as a data: address, made once per process: given the file, Streamlit would read,
# check and register the image again on every rerun (every step a reader takes).
st.set_page_config(page_title="sqlecho", page_icon=favicon_data_url(), layout="wide")
config = config_for(ROOT)
for problem in config.problems:
    st.sidebar.warning(problem)
pages = [st.Page(PAGES / "lesson.py", title="Lessons", icon=":material/school:", default=True)]
if config.allow_user_code:
    pages.append(st.Page(PAGES / "your_code.py", title="Your code", icon=":material/edit_note:"))
if config.class_db is not None:
    pages.append(
        st.Page(PAGES / "teacher.py", title="Teach a class", icon=":material/groups:", url_path="teacher")
    )
st.navigation(pages).run()
