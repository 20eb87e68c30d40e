"""How a worker process is started: inside bubblewrap when it works here, else with rlimits alone.

In bubblewrap the worker sees a read-only view of what Python needs (the interpreter, the
virtualenv, the sqlecho package, the shared libraries) plus the folders of the programs it may
run, a private size-limited ``/tmp``, its own PID, network, IPC and UTS namespaces, no
environment beyond a few variables, and it dies with its parent.

Started by root, the sandbox has no user namespace (it would map to root outside). bubblewrap
run by root keeps every capability unless told otherwise, so the worker starts with
``--cap-drop ALL`` plus only CAP_SETPCAP, CAP_SETUID and CAP_SETGID, which it spends on giving
everything up and becoming users of its own before the program starts (see _privileges.py).
A program folder that those users could not read (mode 700, say) is shown to them as a
world-readable copy, made for the worker and deleted with it; the program never runs as uid 0.
"""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import site
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cgroup import RunCgroup, cgroup_support
from .seccomp import filter_program

__all__ = [
    "TOKEN_VARIABLE",
    "UID_BASE",
    "Sandbox",
    "SandboxRefused",
    "WorkerCommand",
    "default_sandbox",
    "sandbox_status",
]

# What Python needs of /etc: the loader cache (speed) and the time zone (time.localtime).
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
# Top-level folders that may hold shared libraries or be symlinks into /usr (merged /usr).
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_WORKER = "from sqlecho._sandbox.worker import main; main()"
TOKEN_VARIABLE = "SQLECHO_WORKER"
UID_BASE = 1_000_000
"""As root, sandboxed runs take user ids from UID_BASE up (see Sandbox.command)."""
"""Outside bubblewrap, the worker's token is also in its environment (see _processes.sweep)."""
# A copy of a folder the sandbox user cannot read is made only up to this size: entries (files,
# folders and links), levels of folders, bytes.
_STAGE_MAX_FILES = 2_000
_STAGE_MAX_DEPTH = 32
_STAGE_MAX_BYTES = 64 * 1024 * 1024
# Not copied into such a view: version control, environments, caches.
_STAGE_SKIP = frozenset({".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", ".tox"})
# Joins the worker's control group, then becomes bubblewrap (or the worker): one exec, no Python.
_JOIN_CGROUP = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


class SandboxRefused(Exception):
    """A worker cannot be started for this folder; the message says why and what to do."""


@dataclass(frozen=True)
class WorkerCommand:
    """Everything needed to start one worker process."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    home: Path | None
    """The worker's own temporary folder outside any sandbox (removed after the run), or None."""
    folders: tuple[Path, ...]
    """Program folders the worker can read (bubblewrap); empty means "any" (limits only)."""
    confined: bool
    token: str
    """Unique to this worker, on its command line (and, outside bubblewrap, in its environment)."""
    stage: Path | None = None
    """World-readable copies of program folders the sandbox user could not read (removed after)."""


@dataclass
class Sandbox:
    """Starts workers. Pass ``bwrap=None`` (or a path that does not work) for rlimits alone."""

    bwrap: str | None = "bwrap"
    """Name or path of bubblewrap; None turns it off."""
    python: str = sys.executable
    tag: str = "sqlecho-worker"
    """Appears on every worker's command line, to find them with ``ps``/``pgrep``."""
    _status: str | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # -- is bubblewrap usable here? -----------------------------------------------------------

    def status(self) -> str:
        """How workers are confined: "bubblewrap", or "limits only: <why>" (tried once)."""
        with self._lock:
            if self._status is None:
                self._status = self._probe()
            return self._status

    def confined(self) -> bool:
        return self.status() == "bubblewrap"

    def _probe(self) -> str:
        if self.bwrap is None:
            return "limits only: bubblewrap turned off"
        path = shutil.which(self.bwrap)
        if path is None:
            return f"limits only: {self.bwrap} not found"
        argv = [path, *self._bwrap_args((), 1024 * 1024), "--", self.python, "-S", "-c", ""]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=30, env=_environment("/tmp"))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"limits only: bubblewrap does not start ({exc})"
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
            return f"limits only: bubblewrap cannot create a sandbox here ({lines[-1]})"
        return "bubblewrap"

    # -- commands -----------------------------------------------------------------------------

    def command(
        self,
        folders: Iterable[Path],
        scratch_bytes: int,
        result_fd: int,
        cgroup: RunCgroup | None = None,
        program: Path | None = None,
        source: str | None = None,
        *,
        sockets: Iterable[Path] = (),
    ) -> WorkerCommand:
        """The command for a worker that may read ``folders`` and reports on ``result_fd``.

        ``program`` and ``source``: the file this worker is started for and its text, so that a
        copy of its folder (see :func:`_view_of`) is made only of the folder that holds it.
        ``sockets``: folders of servers' unix sockets that sqlecho itself started for the run
        (PostgreSQL's), shown read-only as they are: connecting to a socket needs no write
        access to its folder, and the server asks for the run's password.

        Raises SandboxRefused when a folder cannot be shown to the sandbox user.
        """
        token = f"{self.tag}-{secrets.token_hex(6)}"
        # As root (in bubblewrap), two users of the run's own: the supervisor's, then the
        # program's. Drawn at random from a range of 2**29 pairs above UID_BASE: runs also live in
        # PID namespaces of their own, so even a repeat would not let one reach another.
        confined = self.confined()
        uid = str(UID_BASE + 2 * secrets.randbelow(1 << 29)) if confined and os.geteuid() == 0 else "-"
        python = [self.python, "-s", "-B", "-P", "-c", _WORKER, str(result_fd), token, uid]
        join = ["/bin/sh", "-c", _JOIN_CGROUP, "sqlecho-cgroup", *cgroup.procs_files, "--"] if cgroup else []
        if confined:
            readable = _top_folders(folders)
            stage = Path(tempfile.mkdtemp(prefix="sqlecho-view-")) if os.geteuid() == 0 else None
            try:
                binds = [
                    (_view_of(folder, stage, _program_in(folder, program, source)), folder)
                    for folder in readable
                ]
            except BaseException:
                if stage is not None:
                    shutil.rmtree(stage, ignore_errors=True)
                raise
            bwrap = shutil.which(self.bwrap or "") or "bwrap"
            argv = [*join, bwrap, *self._bwrap_args(binds, scratch_bytes, tuple(sockets)), "--", *python]
            return WorkerCommand(argv, _environment("/tmp"), "/", None, readable, True, token, stage)
        home = Path(tempfile.mkdtemp(prefix="sqlecho-worker-"))
        env = {**_environment(str(home)), TOKEN_VARIABLE: token}
        return WorkerCommand([*join, *python], env, str(home), home, (), False, token)

    def _bwrap_args(
        self, binds: Sequence[tuple[Path, Path]], scratch_bytes: int, sockets: Sequence[Path] = ()
    ) -> list[str]:
        """bubblewrap's options; ``binds`` are (what to show, where) pairs of program folders,
        ``sockets`` the folders of servers' sockets."""
        args = ["--die-with-parent", "--new-session", "--clearenv"]
        for name, value in _environment("/tmp").items():
            args += ["--setenv", name, value]
        if os.geteuid() == 0:
            # A user namespace would map uid 0 inside to root outside. Without one, bubblewrap
            # run by root keeps every capability unless dropped here: the worker keeps only
            # what it needs to give up the rest and become users of its own (_privileges.py).
            args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
            args += ["--unshare-cgroup-try", "--cap-drop", "ALL"]
            args += ["--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-all", "--cap-drop", "ALL"]
        made: set[Path] = {Path("/")}
        args += ["--ro-bind", "/usr", "/usr"]
        for name in _SYSTEM_DIRS:
            if os.path.islink(name):
                args += ["--symlink", os.readlink(name), name]
            elif os.path.isdir(name):
                args += ["--ro-bind", name, name]
        for name in _ETC_FILES:
            if os.path.exists(name):
                args += _bind(Path(name), made)
        args += ["--dev", "/dev", "--proc", "/proc"]
        # The private /tmp goes on before Python's folders: a later mount hides an earlier one,
        # and a virtualenv (or a checkout) may well live under /tmp.
        args += ["--perms", "1777", "--size", str(scratch_bytes), "--tmpfs", "/tmp"]
        made.add(Path("/tmp"))
        for path in _top_folders(_python_paths()):
            args += _bind(path, made)
        for source, folder in binds:
            args += _bind(folder, made, source)
        for folder in sockets:
            args += _bind(Path(folder), made)
        # Nothing outside /tmp is writable: the root of the sandbox is a tmpfs without a size.
        args += ["--remount-ro", "/", "--chdir", "/tmp"]
        return args


def _bind(path: Path, made: set[Path], source: Path | None = None) -> list[str]:
    """Read-only bind of ``source`` (default: ``path`` itself) at ``path``; its new parents
    readable by everyone."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if parent not in made:
            args += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
    return [*args, "--ro-bind", str(source or path), str(path)]


def readable_by_others(folder: Path) -> bool:
    """Could a user of the sandbox's own list and read ``folder`` (mode o+rx)?"""
    try:
        return folder.stat().st_mode & 0o005 == 0o005
    except OSError:
        return False


def _view_of(folder: Path, stage: Path | None, program: tuple[str, str] | None = None) -> Path:
    """What to show at ``folder`` in the sandbox: the folder itself when the sandbox user can
    read it, else (as root) a world-readable copy of it under ``stage``.

    Only a copy gives the program more than any local user could read, so only the copy is made
    with care:

    - from the folder's real path (no symbolic link on the way, checked again on the open
      descriptor), and, when ``program`` (its file name and text) is given, only if that folder
      still holds that very program: a folder renamed into its place is not copied;
    - through descriptors: a link inside is copied as a link, never followed; regular files
      only (a named pipe or a device would block or mean nothing);
    - only what the folder's owner may read: root's copy never shows the program a file that its
      owner could not have read;
    - within a bounded number of entries, depth and bytes (a file that grows while it is copied
      is cut at the size it had), which a copy per worker can afford.
    """
    if stage is None or readable_by_others(folder):
        return folder
    if os.path.realpath(folder) != str(folder):
        raise SandboxRefused(
            f"The program's folder {folder} is readable only by its owner and is reached through "
            f"a symbolic link; the sandbox copies such a folder only from its real path "
            f"({os.path.realpath(folder)}), or make it readable by others (chmod o+rx)."
        )
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    top = os.open(folder, flags)
    try:
        if os.readlink(f"/proc/self/fd/{top}") != str(folder):
            raise SandboxRefused(f"The program's folder {folder} changed while it was being opened.")
        if program is not None and not _holds(top, *program):
            raise SandboxRefused(f"The program's folder {folder} changed while the program was being read.")
        copy = stage / f"view-{len(list(stage.iterdir()))}"
        _copy_tree(top, copy, folder, os.fstat(top))
    finally:
        os.close(top)
    return copy


def _program_in(folder: Path, program: Path | None, source: str | None) -> tuple[str, str] | None:
    if program is None or source is None or Path(os.path.abspath(program)).parent != folder:
        return None
    return program.name, source


def _holds(top: int, name: str, source: str) -> bool:
    """Does the folder open at ``top`` hold the file ``name`` with the text ``source``?"""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=top)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        data = b""
        while len(data) <= 4 * len(source) + 4 and (chunk := os.read(fd, 1 << 20)):
            data += chunk
    finally:
        os.close(fd)
    return data.decode("utf-8-sig", errors="replace") == source


def _too_big(folder: Path) -> SandboxRefused:
    return SandboxRefused(
        f"The program's folder {folder} is readable only by its owner, and too big to copy into "
        f"the sandbox (more than {_STAGE_MAX_FILES} entries, {_STAGE_MAX_DEPTH} levels or "
        f"{_STAGE_MAX_BYTES // (1024 * 1024)} MiB). Make it readable by others "
        f"(chmod o+rx {folder}) or move the program into a folder of its own."
    )


def _owner_reads(info: os.stat_result, owner: os.stat_result) -> bool:
    """Could the owner of the folder (``owner``) read the file described by ``info``?"""
    if owner.st_uid == 0:
        return True
    if info.st_uid == owner.st_uid:
        return bool(info.st_mode & stat.S_IRUSR)
    if info.st_gid == owner.st_gid:
        return bool(info.st_mode & stat.S_IRGRP)
    return bool(info.st_mode & stat.S_IROTH)


def _copy_tree(top: int, copy: Path, folder: Path, owner: os.stat_result) -> None:
    """Copy the folder open at ``top`` into the new folder ``copy``, readable by everyone."""
    entries, size = 0, 0
    copy.mkdir(mode=0o755)
    os.chmod(copy, 0o755)  # the umask must not take the others' bits away
    for here, dirs, names, here_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
        if here.count("/") >= _STAGE_MAX_DEPTH:
            raise _too_big(folder)
        dirs[:] = [name for name in dirs if name not in _STAGE_SKIP]
        target = copy / here
        for name in (*dirs, *names):
            entries += 1
            if entries > _STAGE_MAX_FILES:
                raise _too_big(folder)
            try:
                info = os.stat(name, dir_fd=here_fd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(name, dir_fd=here_fd), target / name)
            elif stat.S_ISDIR(info.st_mode):
                (target / name).mkdir(mode=0o755)
                os.chmod(target / name, 0o755)
            elif stat.S_ISREG(info.st_mode) and _owner_reads(info, owner):
                budget = _STAGE_MAX_BYTES - size
                if info.st_size > budget:
                    raise _too_big(folder)
                size += _copy_file(
                    here_fd, name, target / name, 0o755 if info.st_mode & 0o100 else 0o644, info.st_size
                )


def _copy_file(dir_fd: int, name: str, target: Path, mode: int, most: int) -> int:
    """Copy at most ``most`` bytes of the regular file ``name``; the bytes copied."""
    try:
        source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return 0  # gone, or swapped for a link since it was listed: not copied
    copied = 0
    try:
        if not stat.S_ISREG(os.fstat(source).st_mode):
            return 0
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            os.fchmod(out, mode)
            while copied < most and (chunk := os.read(source, min(1 << 20, most - copied))):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
                copied += len(chunk)
        finally:
            os.close(out)
    finally:
        os.close(source)
    return copied


def _python_paths() -> list[Path]:
    """Where this interpreter, its standard library, its packages and sqlecho live.

    Not every ``sys.path`` entry: the app's own folder is on it (Streamlit adds it), and with
    it whatever secrets sit next to ``app.py``.
    """
    prefixes = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}
    found = [Path(prefix) for prefix in prefixes]
    found += [Path(entry) for entry in site.getsitepackages()]
    found.append(Path(__file__).resolve().parents[1])  # the sqlecho package
    executable = Path(sys.executable)
    found += [executable.parent, executable.resolve().parent]
    with_real = found + [Path(os.path.realpath(path)) for path in found]
    return [path for path in with_real if path.exists() and path != Path("/")]


def _top_folders(paths: Iterable[Path]) -> tuple[Path, ...]:
    """Absolute, existing folders, without those inside another one of them (and without /)."""
    unique = sorted({Path(os.path.abspath(path)) for path in paths if Path(path).exists()})
    kept: list[Path] = []
    for path in unique:
        if path == Path("/") or any(path.is_relative_to(top) for top in kept):
            continue
        kept.append(path)
    return tuple(kept)


def _environment(home: str) -> dict[str, str]:
    """The worker's whole environment: no server secrets, deterministic hashing."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "PYTHONHASHSEED": "0",
    }


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox: bubblewrap from PATH when it works; ``SQLECHO_WORKER_TAG``
    names its workers (to tell apart those of several servers on one machine)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox(tag=os.environ.get("SQLECHO_WORKER_TAG") or "sqlecho-worker")
        return _default


def sandbox_status() -> str:
    """How programs are confined here, in one line: "bubblewrap" or "limits only: <why>", then
    how a run is limited as a whole (a control group, or per process only, and why), and, on an
    architecture without one, that there is no system-call filter."""
    status = f"{default_sandbox().status()}; {cgroup_support().describe()}"
    if filter_program() is None:
        status += f"; no system-call filter on {platform.machine()}"
    return status
