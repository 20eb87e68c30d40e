"""Running a program confined: the parent's runner, the worker, the pool of warm workers,
bubblewrap (:mod:`.launch`), limits, and the salvage of runs that were killed.
"""
