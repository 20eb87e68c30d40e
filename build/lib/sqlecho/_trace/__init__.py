"""Running one program in this process, step by step (``# %%`` cells or executed lines).

:mod:`.options` holds ``TraceOptions`` and the ``Runner`` protocol that every runner follows.
"""
