"""The Streamlit app's pages, widgets and caches: the only part of sqlecho that imports streamlit.

Started by ``app.py`` and ``app_pages/`` in a checkout; not part of the wheel.
"""
