"""Become nobody in particular: no capability in any set, a user id of the run's own.

Started by root, bubblewrap keeps every capability unless told otherwise, and ``--cap-add`` only
adds to that set. The sandbox therefore starts the worker with ``--cap-drop ALL`` plus the three
capabilities this module needs to give everything up (CAP_SETPCAP, CAP_SETUID, CAP_SETGID), and
:func:`drop_to` spends them: the bounding set is emptied (nothing can come back, even through a
set-user-id file), the secure bits are locked so that uid 0 would mean nothing special, the
ambient and inheritable sets are cleared, and the process takes a user and group id of its own.
:func:`check_unprivileged` then reads ``/proc/self/status`` and refuses to go on if any of it did
not take: the program never runs with a capability or as uid 0 when the worker is confined.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["PrivilegeError", "capability_sets", "check_unprivileged", "drop_to"]

_PR_CAPBSET_DROP = 24
_PR_SET_SECUREBITS = 28
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_PR_SET_DUMPABLE = 4
# SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP stays off (so setuid clears the sets), SECBIT_KEEP_CAPS
# off, SECBIT_NO_CAP_AMBIENT_RAISE on; each with its _LOCKED bit.
_SECUREBITS = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 6) | (1 << 7)
_CAPS_VERSION_3 = 0x20080522
_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


class PrivilegeError(RuntimeError):
    """The worker could not give up its privileges; it must not run the program."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def capability_sets() -> dict[str, int]:
    """This process's capability sets, from ``/proc/self/status`` (e.g. ``{"CapEff": 0, ...}``)."""
    sets: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in _SETS:
                sets[name] = int(value.strip(), 16)
    return sets


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as file:
            return int(file.read())
    except (OSError, ValueError):
        return 63


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise PrivilegeError(f"{what} failed: {os.strerror(number)}")


def drop_to(uid: int, *, dumpable: bool = True) -> None:
    """Give up every capability and become ``uid`` (and gid ``uid``), for good.

    Args:
        uid: the user and group id to take; never 0.
        dumpable: False keeps other processes of the same user out of ``/proc/<pid>`` (a
            supervisor hides its file descriptors from the program that way).
    """
    if uid <= 0:
        raise PrivilegeError(f"refusing to run as uid {uid}")
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() == 0:
        for cap in range(_last_cap() + 1):
            _check(libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), "dropping the bounding set")
        _check(libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS, 0, 0, 0), "locking the secure bits")
        # Keep only what setresuid/setgid need; nothing is inheritable across exec.
        keep = (1 << 6) | (1 << 7)  # CAP_SETGID, CAP_SETUID
        header = _CapHeader(_CAPS_VERSION_3, 0)
        data = (_CapData * 2)(_CapData(keep, keep, 0), _CapData(0, 0, 0))
        _check(libc.capset(ctypes.byref(header), data), "capset")
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # fails harmlessly on old kernels
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # the kernel clears the permitted and effective sets here
    if not dumpable:
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def check_unprivileged(*, root_allowed: bool = False) -> None:
    """Raise PrivilegeError unless this process has no effective, permitted, inheritable or
    ambient capability (and, unless ``root_allowed``, is not uid 0)."""
    sets = capability_sets()
    held = {name: value for name, value in sets.items() if value and name != "CapBnd"}
    if held:
        shown = ", ".join(f"{name}={value:016x}" for name, value in held.items())
        raise PrivilegeError(f"the worker still holds capabilities ({shown})")
    if not root_allowed and 0 in os.getresuid():
        raise PrivilegeError("the worker is still uid 0")
