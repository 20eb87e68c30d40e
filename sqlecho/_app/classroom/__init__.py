"""The classroom: a teacher sees, live, which steps a class mispredicts.

A teacher starts a class on the teacher page and gets a join code (``KITE-427``) and a private
link holding a secret key; students join with the code and a nickname, then work as on their
own. What they answer and check is recorded per class, in a database of its own
(``SQLECHO_CLASS_DB``), and the teacher page draws it live. See docs/classroom.md.

The modules: :mod:`.codes` (join codes, keys, nicknames, rate limits: no database),
:mod:`.models` and :mod:`.store` (SQLModel tables and the queries), :mod:`.recorder` (the
batched writer), :mod:`.hooks` (what the lesson page calls) and :mod:`.pages` (the join bar and
the teacher page). Only :mod:`.models`, :mod:`.store` and :mod:`.recorder` import the ORM, and
the others import them only once a class is in use: a server that never sees a class never
loads SQLAlchemy.
"""
