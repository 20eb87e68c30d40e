"""Jupyter: the ``%%sqlecho`` cell magic and :func:`sqlecho.show`.

The top of the layers: it imports IPython, which nothing else in the package does, and only
``%load_ext sqlecho`` or ``sqlecho.show`` loads it.
"""
