"""Whose code a file is: the user's project, or Python's and the installed packages'.

``capture()`` stamps each statement with the first frame of the user's own code. That is decided
by where a file lives, not by module names: the standard library and every installed package
(site-packages, dist-packages) are found through :mod:`sysconfig` and :mod:`site`, and
SQLAlchemy, SQLModel and sqlecho by their package folders (which an editable install puts
anywhere). Paths are shown relative to a root: pytest's rootdir when the plugin sets it, else the
working directory.

This module imports neither SQLAlchemy nor the ORM: the pytest plugin sets the root from here.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sysconfig

__all__ = ["display", "is_library", "set_root"]

_root: str | None = None
# The folders computed once, on first use (sys.prefix does not move during a run).
_folders: tuple[str, ...] | None = None
# Packages that send SQL on behalf of the user's code, wherever they are installed.
_PACKAGES = ("sqlalchemy", "sqlmodel", "sqlecho")


def set_root(path: str | os.PathLike[str] | None) -> str | None:
    """Show paths relative to ``path`` (pytest's rootdir); None: the working directory.

    Returns:
        The root it replaces, to put back.
    """
    global _root
    previous, _root = _root, None if path is None else os.fspath(path)
    return previous


def _package_folder(name: str) -> str | None:
    # find_spec of a top-level name locates the package without importing it.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.realpath(next(iter(spec.submodule_search_locations)))


def _library_folders() -> tuple[str, ...]:
    global _folders
    if _folders is None:
        paths = sysconfig.get_paths()
        found = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
        found.update(site.getsitepackages())
        if site.ENABLE_USER_SITE:
            found.add(site.getusersitepackages())
        found.update(folder for name in _PACKAGES if (folder := _package_folder(name)) is not None)
        _folders = tuple(sorted(os.path.join(os.path.realpath(folder), "") for folder in found))
    return _folders


def is_library(filename: str) -> bool:
    """True for code that is not the user's: the standard library (frozen modules included), an
    installed package, SQLAlchemy, SQLModel or sqlecho itself."""
    if filename.startswith("<frozen "):
        return True
    if not os.path.isabs(filename):
        return False  # "<string>", an exec'd snippet, a notebook cell: the user's
    # Also below a folder under site-packages, whatever the distribution calls itself.
    parts = filename.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return os.path.realpath(filename).startswith(_library_folders())


def display(filename: str) -> str:
    """``filename`` relative to the root (pytest's rootdir, or the working directory) when under
    it, ``/`` separated."""
    if filename.startswith("<") or not os.path.isabs(filename):
        return filename
    root = _root if _root is not None else os.getcwd()
    if filename.startswith(os.path.join(root, "")):
        filename = os.path.relpath(filename, root)
    return filename.replace(os.sep, "/")
