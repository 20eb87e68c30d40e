"""Make a traced program feel like ``python FILE``, and leave no trace of it behind.

The program gets a fresh ``__main__`` module, ``sys.argv``, its folder as working directory and
first import root, and (for the teacher's "what if" switches) Sessions that default to
``expire_on_commit=False`` / ``autoflush=False``. On exit every one of those is put back, the
engines it created are disposed and SQLModel's process-global registry is cleared.
"""

from __future__ import annotations

import os
import sys
import types
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

__all__ = ["ProgramEnvironment", "reset_sqlmodel"]


def reset_sqlmodel() -> None:
    """Forget every table and mapped class defined on SQLModel's shared metadata and registry.

    Without this a second ``class Hero(SQLModel, table=True)`` in the same process fails with
    "Table 'hero' is already defined".
    """
    from sqlmodel import SQLModel
    from sqlmodel.main import default_registry

    SQLModel.metadata.clear()
    default_registry.dispose()


class ProgramEnvironment:
    """Context manager: enter gives the program's module namespace; exit restores the process."""

    def __init__(self, file: Path, overrides: Mapping[str, bool]) -> None:
        self.file = file
        self.overrides = dict(overrides)
        """Session arguments every Session of the program gets (``TraceOptions.overrides``)."""
        self.engines: weakref.WeakSet[Engine] = weakref.WeakSet()
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> dict[str, object]:
        module = types.ModuleType("__main__")
        module.__file__ = str(self.file)
        module.__dict__["__builtins__"] = __builtins__
        self._saved = {
            "main": sys.modules.get("__main__"),
            "argv": sys.argv,
            "path": list(sys.path),
            "cwd": os.getcwd(),
            "modules": set(sys.modules),
            "init": Session.__init__,
            "bytecode": sys.dont_write_bytecode,
        }
        # Importing a sibling module would write __pycache__ beside the program.
        sys.dont_write_bytecode = True
        sys.modules["__main__"] = module
        sys.argv = [str(self.file)]
        sys.path.insert(0, str(self.file.parent))
        if self.file.parent.is_dir():
            os.chdir(self.file.parent)
        self._patch_session()
        event.listen(Engine, "engine_connect", self._on_engine_connect)
        return module.__dict__

    def _on_engine_connect(self, connection: Connection) -> None:
        self.engines.add(connection.engine)

    def _patch_session(self) -> None:
        overrides = self.overrides
        if not overrides:
            return
        original = Session.__init__

        # There is no "session created" event; wrapping __init__ is the one place every Session,
        # sessionmaker-made or subclassed (sqlmodel.Session), passes through.
        def __init__(session: Session, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            for name, value in overrides.items():
                setattr(session, name, value)

        Session.__init__ = __init__  # type: ignore[method-assign,assignment]

    def __exit__(self, *_exc: object) -> None:
        saved = self._saved
        Session.__init__ = saved["init"]  # type: ignore[method-assign]
        sys.dont_write_bytecode = saved["bytecode"]
        event.remove(Engine, "engine_connect", self._on_engine_connect)
        if saved["main"] is not None:
            sys.modules["__main__"] = saved["main"]
        sys.argv = saved["argv"]
        sys.path[:] = saved["path"]
        os.chdir(saved["cwd"])
        # Sibling modules the program imported (models.py next to it) must be imported afresh by
        # the next run, against a cleared registry.
        folder = str(self.file.parent)
        for name in set(sys.modules) - saved["modules"]:
            module_file = getattr(sys.modules.get(name), "__file__", None) or ""
            if module_file.startswith(folder + os.sep):
                del sys.modules[name]

    def dispose_engines(self) -> None:
        """Close the pooled connections of every engine the program used."""
        for engine in list(self.engines):
            try:
                engine.dispose()
            except Exception:  # noqa: BLE001 - a broken engine must not hide the transcript
                pass
