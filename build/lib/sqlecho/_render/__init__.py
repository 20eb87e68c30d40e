"""Pure presentation of a transcript: the terminal text and the HTML of a step.

No Streamlit and no tracing here: it imports only :mod:`sqlecho._transcript`.
"""
