"""Remembering, until the machine restarts, that bubblewrap works here.

Before its first worker, a process asks whether bubblewrap can make a sandbox on this machine
by starting an empty one (:meth:`~sqlecho._sandbox.launch.Sandbox.status`): a few tens of
milliseconds, which the command line paid on every ``trace``. Whether it works depends on the
kernel and its settings, the bubblewrap and Python files and the user, none of which changes
between two commands; so a success is remembered in the cache folder under a name made of all
of them, read from the machine each time (a changed setting is a different name, and after a
restart the boot id is new).

Only a success is remembered. Trusting a stale one costs nothing in safety: the worker is then
started in bubblewrap, and if bubblewrap fails the run fails with bubblewrap's message (and the
memory is forgotten, see ``Sandbox.distrust``); no program ever runs with less confinement
because of this file. A failure is probed again every time, so that a fixed machine is seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .settings import cache_dir

__all__ = ["ProbeMemory"]

# Kernel settings that decide whether an unprivileged user may make namespaces.
_SETTINGS = (
    "/proc/sys/kernel/random/boot_id",
    "/proc/sys/kernel/unprivileged_userns_clone",
    "/proc/sys/user/max_user_namespaces",
    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
    "/proc/sys/kernel/unprivileged_userns_apparmor_policy",
)
# The namespaces this process lives in (a cache folder shared with another container is not
# evidence about this one).
_NAMESPACES = ("/proc/self/ns/user", "/proc/self/ns/pid", "/proc/self/ns/mnt")


@dataclass(frozen=True)
class ProbeMemory:
    """Successful probes, as empty files named by what the probe depended on, in ``folder``."""

    folder: Path

    @classmethod
    def in_cache(cls, environ: Mapping[str, str]) -> ProbeMemory | None:
        """In the cache folder (``SQLECHO_CACHE_DIR``'s rule); None when it is turned off."""
        folder = cache_dir(environ)
        return None if folder is None else cls(folder / "probes")

    def remembers(self, bwrap: str, python: str) -> bool:
        """Whether a probe of ``bwrap`` running ``python`` succeeded on this boot, as this user.

        Only a regular file of this user's, in a folder of this user's that no one else may
        write, counts."""
        name = _name(bwrap, python)
        if name is None:
            return False
        try:
            folder = os.lstat(self.folder)
            entry = os.lstat(self.folder / name)
        except OSError:
            return False
        me = os.geteuid()
        return (
            stat.S_ISDIR(folder.st_mode)
            and folder.st_uid == me
            and not folder.st_mode & 0o022
            and stat.S_ISREG(entry.st_mode)
            and entry.st_uid == me
        )

    def remember(self, bwrap: str, python: str) -> None:
        """Note a successful probe (best effort: a cache folder that cannot be written only
        means the next process probes again)."""
        name = _name(bwrap, python)
        if name is None:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            os.close(descriptor)

    def forget(self) -> None:
        """Forget every success (a worker did not start in bubblewrap after all)."""
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _name(bwrap: str, python: str) -> str | None:
    """A digest of everything the probe's result depends on; None if one cannot be read."""
    parts: list[str] = [os.uname().release, str(os.geteuid())]
    try:
        for path in (bwrap, python):
            real = os.path.realpath(path)
            info = os.stat(real)
            parts.append(
                f"{real}:{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_mode}"
            )
        for namespace in _NAMESPACES:
            parts.append(os.readlink(namespace))
    except OSError:
        return None
    for setting in _SETTINGS:
        try:
            with open(setting, encoding="ascii") as file:
                parts.append(file.read().strip())
        except OSError:
            parts.append("-")
    if parts[-len(_SETTINGS)] == "-":
        return None  # no boot id: nothing ties the memory to this boot
    return "bubblewrap-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
