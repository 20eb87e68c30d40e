"""Tamper evidence: a program that reaches into the tracer gets a transcript marked as tampered.

The tracer runs in the program's own process, so a program can rewrite what the tracer reports
(``import sqlecho._sandbox.worker`` and patch ``Channel.send``, say). That cannot be prevented
there, but it can be seen. Just before the program starts, the worker:

- takes sqlecho's modules out of ``sys.modules`` (it keeps them alive itself), so that the
  program's ``import sqlecho...`` really imports, which raises an audit event, and gets a fresh
  copy of the module that the running tracer does not use;
- installs a PEP 578 audit hook, which no Python code can remove, that watches for the ways into
  the tracer: importing any sqlecho module, ``gc.get_objects``/``get_referrers``/``get_referents``,
  ``sys._current_frames``, any use of ``ctypes``, a program (not a library) taking a frame of the
  tracer's (``sys._getframe``, a traceback's ``tb_frame``), and replacing the code of a sqlecho
  function or an attribute of a sqlecho class.

The hook tells the *supervisor* (see supervisor.py, another user, out of the program's reach) on
a pipe of its own: one line with the reason, written before the audited action happens. The
supervisor passes ``{"tampered": REASON}`` to the server, which sets the transcript's
``tampered`` field itself: a program cannot add the mark to its transcript, nor send it for
another run, nor take it away. If the program has closed or replaced that pipe's descriptor
before tampering, the hook ends the process with ``TAMPERED_EXIT`` instead, which the
supervisor reports truthfully. Audit hooks do not see everything (docs/sandbox.md says what a
determined program can still do).
"""

from __future__ import annotations

import _thread
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["TAMPERED_EXIT", "prepare"]

TAMPERED_EXIT = 87
"""Exit status of a worker whose program tampered after taking away the way to report it."""

_PACKAGE = str(Path(__file__).resolve().parent.parent) + os.sep
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_FRAME_HOLDERS = (types.TracebackType, types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
_WATCHED = frozenset(
    {
        "import",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "sys._getframe",
        "object.__getattr__",
        "object.__setattr__",
    }
)
_REASON_BYTES = 200


def _is_sqlecho(name: object) -> bool:
    return type(name) is str and (name == "sqlecho" or str.startswith(name, "sqlecho."))


def _libraries() -> tuple[str, ...]:
    """Where the standard library and installed packages live: their frame-reading is theirs."""
    places = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return tuple(sorted(str(Path(place).resolve()) + os.sep for place in places))


def prepare(fd: int) -> Callable[[], None]:
    """Everything that takes time, done while the worker waits for a job; returns ``arm``, which
    watches the program from then on and reports on ``fd`` (a pipe to the supervisor)."""
    stat = os.fstat(fd)
    stash: dict[str, types.ModuleType] = {}
    hook = _hook(fd, (stat.st_dev, stat.st_ino), stash, _libraries())

    def arm() -> None:
        stash.update((name, module) for name, module in list(sys.modules.items()) if _is_sqlecho(name))
        for name in stash:
            del sys.modules[name]
        sys.addaudithook(hook)

    return arm


def _hook(
    fd: int, identity: tuple[int, int], stash: dict[str, types.ModuleType], libraries: tuple[str, ...]
) -> Callable[[str, tuple[Any, ...]], None]:
    # Everything the hook calls is bound here: the program may replace os.write or sys._getframe
    # on their modules, never these references (the hook is reachable only through gc or frames,
    # which it watches). It never calls a method of an object the program made (that code would
    # run inside the hook, where events are not watched): exact types and ids only.
    write, fstat, hard_exit, get_ident, getframe = (
        os.write,
        os.fstat,
        os._exit,
        _thread.get_ident,
        sys._getframe,
    )
    watched = {
        id(value): f"{module.__name__}.{name}"
        for module_name, module in list(sys.modules.items())
        if _is_sqlecho(module_name)
        for name, value in vars(module).items()
        if type(value) is types.FunctionType or isinstance(value, type)
    }
    told: list[bool] = []
    busy: set[int] = set()  # threads inside the hook (its own frame reads raise events too)

    def code_file(frame: object) -> str:
        if type(frame) is not types.FrameType:
            return ""
        return frame.f_code.co_filename

    def tracers(frame: object) -> bool:
        name = code_file(frame)
        return str.startswith(name, _PACKAGE) or name == "<string>"  # the worker's own -c frame

    def by_the_program() -> bool:
        # Frames: 0 this function, 1 reason_for, 2 the hook, 3 what raised the event.
        caller = code_file(getframe(3))
        return not str.startswith(caller, libraries) and not str.startswith(caller, _PACKAGE)

    def reason_for(event: str, args: tuple[Any, ...]) -> str | None:
        if event == "import":
            return f"imported {args[0]}" if _is_sqlecho(args[0]) else None
        if event == "sys._getframe":
            return (
                "took a frame of the tracer (sys._getframe)"
                if tracers(args[0]) and by_the_program()
                else None
            )
        if event == "object.__getattr__":
            if not any(type(args[0]) is holder for holder in _FRAME_HOLDERS):
                return None
            frame = getattr(args[0], args[1], None)
            return f"took a frame of the tracer ({args[1]})" if tracers(frame) and by_the_program() else None
        if event == "object.__setattr__":
            name = watched.get(id(args[0]))
            return f"changed {name}" if name is not None else None
        if str.startswith(event, "ctypes."):
            return f"used ctypes ({event})"
        return f"called {event}"  # gc.get_objects and the like

    def report(reason: str) -> None:
        told.append(True)
        try:
            stat = fstat(fd)
            if (stat.st_dev, stat.st_ino) != identity:
                raise OSError("the report pipe was replaced")
            write(fd, reason.encode("ascii", "replace")[:_REASON_BYTES] + b"\n")
        except OSError:
            hard_exit(TAMPERED_EXIT)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        # The fast way out first: the tracer itself raises an event on every call it steps into.
        if told or not stash or type(event) is not str:
            return
        if event not in _WATCHED and not str.startswith(event, "ctypes."):
            return
        if event == "object.__getattr__" and (
            len(args) != 2 or type(args[1]) is not str or args[1] not in _FRAME_ATTRIBUTES
        ):
            return
        thread = get_ident()
        if thread in busy:
            return
        busy.add(thread)
        try:
            reason = reason_for(event, args) if args or event != "import" else None
        except Exception:  # noqa: BLE001 - an odd argument is no reason to break the program
            reason = None
        finally:
            busy.discard(thread)
        if reason is not None:
            report(reason)

    return hook
