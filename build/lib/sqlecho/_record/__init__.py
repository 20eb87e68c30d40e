"""Observing SQLAlchemy: event recorders, ORM object states, which line caused what, ``capture()``.

Shared by the tracer and the test API; imports only :mod:`sqlecho._transcript`.
"""
