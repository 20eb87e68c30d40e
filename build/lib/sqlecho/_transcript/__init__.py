"""The transcript as data: event kinds, record builders, JSON-safe values, SQL text.

The bottom layer: it imports nothing of SQLAlchemy or SQLModel, so the renderers and the
sandbox's parent process can use it. The public types are in :mod:`sqlecho.transcript`.
"""
