"""How a worker process is started: inside bubblewrap when it works here, else with rlimits alone.

In bubblewrap the worker sees a read-only view of what Python needs (the interpreter, the
virtualenv, the sqlecho package, the shared libraries) plus the folders of the programs it may
run, a private size-limited ``/tmp``, its own PID, network, IPC and UTS namespaces, no
environment beyond a few variables, and it dies with its parent.

Started by root, the sandbox has no user namespace (it would map to root outside). bubblewrap
run by root keeps every capability unless told otherwise, so the worker starts with
``--cap-drop ALL`` plus only CAP_SETPCAP, CAP_SETUID and CAP_SETGID, which it spends on giving
everything up and becoming users of its own before the program starts (see _privileges.py).
A program folder that those users could not read (mode 700, say) is shown to them as a copy
of what any user could read in it (and of the program itself), made for the worker and deleted
with it; the program never runs as uid 0.
"""

from __future__ import annotations

import json
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
from .probe import ProbeMemory
from .protocol import FOLDERS_VARIABLE
from .seccomp import FilterUnavailable, filter_program
from .stale import sweep_stale_once

__all__ = [
    "FOLDERS_VARIABLE",
    "TOKEN_VARIABLE",
    "UID_BASE",
    "Sandbox",
    "SandboxRefused",
    "WorkerCommand",
    "confirm_folder",
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
    shown: tuple[tuple[str, int, int], ...] = ()
    """``(path, device, inode)`` of each program folder shown as it is (see FOLDERS_VARIABLE)."""


@dataclass
class Sandbox:
    """Starts workers. Pass ``bwrap=None`` (or a path that does not work) for rlimits alone."""

    bwrap: str | None = "bwrap"
    """Name or path of bubblewrap; None turns it off."""
    python: str = sys.executable
    tag: str = "sqlecho-worker"
    """Appears on every worker's command line, to find them with ``ps``/``pgrep``."""
    probe_memory: ProbeMemory | None = None
    """Where a bubblewrap that worked is remembered until the machine restarts (None: probe in
    every process). :func:`default_sandbox` gives the user's cache folder."""
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

    def distrust(self) -> None:
        """A confined worker did not start: forget that bubblewrap worked (here and on disk),
        so that the next run tries it again and says why it cannot."""
        with self._lock:
            self._status = None
            if self.probe_memory is not None:
                self.probe_memory.forget()

    def _probe(self) -> str:
        if self.bwrap is None:
            return "limits only: bubblewrap turned off"
        path = shutil.which(self.bwrap)
        if path is None:
            return f"limits only: {self.bwrap} not found"
        memory = self.probe_memory
        if memory is not None and memory.remembers(path, self.python):
            return "bubblewrap"
        argv = [path, *self._bwrap_args((), 1024 * 1024), "--", self.python, "-S", "-c", ""]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=30, env=_environment("/tmp"))
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"limits only: bubblewrap does not start ({exc})"
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
            return f"limits only: bubblewrap cannot create a sandbox here ({lines[-1]})"
        if memory is not None:
            memory.remember(path, self.python)
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
        # A worker started ahead of time (no program yet: the pool's) warms up while it waits;
        # one started for a program gets its job at once (warmup.py).
        warm = "warm" if program is None else "-"
        python = [self.python, "-s", "-B", "-P", "-c", _WORKER, str(result_fd), token, uid, warm]
        join = ["/bin/sh", "-c", _JOIN_CGROUP, "sqlecho-cgroup", *cgroup.procs_files, "--"] if cgroup else []
        if confined:
            readable = _top_folders(folders)
            stage = (
                Path(tempfile.mkdtemp(prefix=f"sqlecho-view-{os.getpid()}-")) if os.geteuid() == 0 else None
            )
            try:
                binds = [
                    (_view_of(folder, stage, _program_in(folder, program, source)), folder)
                    for folder in readable
                ]
            except BaseException:
                if stage is not None:
                    shutil.rmtree(stage, ignore_errors=True)
                raise
            # bubblewrap binds a folder shown as it is by its path, later: a link swapped in by
            # then would show the link's target there. Its identity goes to the worker, which
            # checks what was mounted before it runs anything.
            shown = [
                _identity(folder, _program_in(folder, program, source))
                for view, folder in binds
                if view == folder
            ]
            bwrap = shutil.which(self.bwrap or "") or "bwrap"
            args = self._bwrap_args(binds, scratch_bytes, tuple(sockets))
            if shown:
                args += ["--setenv", FOLDERS_VARIABLE, json.dumps(shown)]
            argv = [*join, bwrap, *args, "--", *python]
            return WorkerCommand(
                argv,
                _environment("/tmp"),
                "/",
                None,
                readable,
                True,
                token,
                stage,
                tuple((str(path), int(device), int(inode)) for path, device, inode in shown),
            )
        home = Path(tempfile.mkdtemp(prefix=f"sqlecho-worker-{os.getpid()}-"))
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
            if source == folder:
                # A host socket reached by its path ignores the network namespace: each one in
                # a folder shown as it is gets /dev/null over it (a copy never holds one).
                for socket in _sockets_in(folder):
                    args += ["--ro-bind", "/dev/null", str(socket)]
        # The servers' sockets that sqlecho started for the run (PostgreSQL's) stay connectable.
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


def _sockets_in(folder: Path) -> list[Path]:
    """The unix sockets in ``folder`` and its folders (links not followed), looked for among at
    most as many entries as a copy may hold (:data:`_STAGE_MAX_FILES`)."""
    found: list[Path] = []
    seen = 0
    for here, dirs, names in os.walk(folder):
        for name in names:
            seen += 1
            path = Path(here) / name
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    found.append(path)
            except OSError:
                continue
        seen += len(dirs)
        if seen > _STAGE_MAX_FILES:
            break
    return found


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
    - each entry opened once, without following a link (``O_PATH | O_NOFOLLOW``); what it is and
      who may read it is decided on that descriptor, and its bytes are read through it: a name
      swapped between a check and a copy (a readable decoy, then a root-only file) cannot
      change what is copied;
    - only what any user of the machine ("others") could read: files with o+r, folders with
      o+rx, links as links (never followed); no named pipe, socket or device. The one
      exception is the program itself, which its invoker asked to run: it is written from the
      text already read, not copied from the folder;
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
        _make_folder(copy)
        _Copy(folder).tree(top, copy, 0, program[0] if program else None)
        if program is not None:
            _write_new(copy / program[0], program[1].encode("utf-8", "surrogatepass"), 0o644)
    finally:
        os.close(top)
    return copy


def _identity(folder: Path, program: tuple[str, str] | None) -> list[str | int]:
    """``[path, device, inode]`` of the folder at ``folder`` (links followed, as bubblewrap
    will), which must hold ``program`` (its file name and text) when it is given."""
    try:
        top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise SandboxRefused(f"The program's folder {folder} cannot be opened ({exc.strerror}).") from None
    try:
        if program is not None and not _holds(top, *program, follow=True):
            raise SandboxRefused(f"The program's folder {folder} changed while the program was being read.")
        info = os.fstat(top)
    finally:
        os.close(top)
    return [str(folder), info.st_dev, info.st_ino]


def confirm_folder(command: WorkerCommand, program: Path, source: str) -> None:
    """Refuse (:class:`SandboxRefused`) to give ``program`` (its text ``source``) to a worker
    started earlier (a pool's) whose view of the program's folder is not that folder now, holding
    that program: a link swapped in when the worker started would show the link's target."""
    folder = Path(os.path.abspath(program)).parent
    for path, device, inode in command.shown:
        if Path(path) == folder and _identity(folder, (program.name, source))[1:] != [device, inode]:
            raise SandboxRefused(
                f"The program's folder {folder} was replaced while the sandbox was being made."
            )


def _program_in(folder: Path, program: Path | None, source: str | None) -> tuple[str, str] | None:
    if program is None or source is None or Path(os.path.abspath(program)).parent != folder:
        return None
    return program.name, source


def _holds(top: int, name: str, source: str, follow: bool = False) -> bool:
    """Does the folder open at ``top`` hold the file ``name`` with the text ``source`` (line
    endings aside: a notebook reads with universal newlines)? ``follow``: ``name`` may be a
    link, to a regular file that is not empty (a pseudo-file of ``/proc``, such as
    ``/proc/kmsg``, says it is: it is not read)."""
    try:
        found = os.open(name, os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW), dir_fd=top)
        try:
            info = os.fstat(found)
            if not stat.S_ISREG(info.st_mode) or (info.st_size == 0 and source):
                return False
            fd = os.open(f"/proc/self/fd/{found}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        finally:
            os.close(found)
        try:
            data = b""
            while len(data) <= 4 * len(source) + 4 and (chunk := os.read(fd, 1 << 20)):
                data += chunk
        finally:
            os.close(fd)
    except OSError:
        return False
    text = _lines(data.decode("utf-8", errors="replace"))
    return _lines(source) in (text, text.removeprefix("\ufeff"))


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _too_big(folder: Path) -> SandboxRefused:
    return SandboxRefused(
        f"The program's folder {folder} is readable only by its owner, and too big to copy into "
        f"the sandbox (more than {_STAGE_MAX_FILES} entries, {_STAGE_MAX_DEPTH} levels or "
        f"{_STAGE_MAX_BYTES // (1024 * 1024)} MiB). Make it readable by others "
        f"(chmod o+rx {folder}) or move the program into a folder of its own."
    )


def _make_folder(path: Path) -> None:
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)  # the umask must not take the others' bits away


def _write_new(target: Path, data: bytes, mode: int) -> None:
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(out, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
    finally:
        os.close(out)


class _Copy:
    """One copy of a folder (see :func:`_view_of`): counts what it has copied against the bounds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries = 0
        self.bytes = 0

    def tree(self, here: int, copy: Path, depth: int, program: str | None = None) -> None:
        """Copy the folder open at ``here`` into the existing folder ``copy``; ``program``: the
        name (at this level) of the program, which :func:`_view_of` writes itself."""
        if depth >= _STAGE_MAX_DEPTH:
            raise _too_big(self.folder)
        for name in sorted(os.listdir(here)):
            self.entries += 1
            if self.entries > _STAGE_MAX_FILES:
                raise _too_big(self.folder)
            if name in _STAGE_SKIP or name == program:
                continue
            try:
                entry = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=here)
            except OSError:
                continue  # gone since it was listed
            try:
                self._entry(entry, os.fstat(entry), copy / name, depth)
            finally:
                os.close(entry)

    def _entry(self, entry: int, info: os.stat_result, target: Path, depth: int) -> None:
        """Copy the entry open (``O_PATH``) at ``entry``, described by ``info``, to ``target``."""
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink("", dir_fd=entry), target)
        elif stat.S_ISDIR(mode) and mode & 0o005 == 0o005:
            inside = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=entry)
            try:
                _make_folder(target)
                self.tree(inside, target, depth + 1)
            finally:
                os.close(inside)
        elif stat.S_ISREG(mode) and mode & stat.S_IROTH:
            budget = _STAGE_MAX_BYTES - self.bytes
            if info.st_size > budget:
                raise _too_big(self.folder)
            # Reopened through the descriptor itself: the very file that was just looked at.
            source = os.open(f"/proc/self/fd/{entry}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                again = os.fstat(source)
                if (again.st_dev, again.st_ino) != (info.st_dev, info.st_ino):
                    return
                self.bytes += _copy_file(source, target, 0o755 if mode & 0o100 else 0o644, info.st_size)
            finally:
                os.close(source)


def _copy_file(source: int, target: Path, mode: int, most: int) -> int:
    """Copy at most ``most`` bytes from the open file ``source`` to the new file ``target``;
    the bytes copied."""
    copied = 0
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(out, mode)
        while copied < most and (chunk := os.read(source, min(1 << 20, most - copied))):
            view = memoryview(chunk)
            while view:
                view = view[os.write(out, view) :]
            copied += len(chunk)
    finally:
        os.close(out)
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
    # At a server's start: clear what one that was killed outright left behind (stale.py).
    sweep_stale_once()
    with _default_lock:
        if _default is None:
            _default = Sandbox(
                tag=os.environ.get("SQLECHO_WORKER_TAG") or "sqlecho-worker",
                probe_memory=ProbeMemory.in_cache(os.environ),
            )
        return _default


def sandbox_status() -> str:
    """How programs are confined here, in one line: "bubblewrap" or "limits only: <why>", then
    how a run is limited as a whole (a control group, or per process only, and why), and, on an
    architecture without one, that there is no system-call filter."""
    status = f"{default_sandbox().status()}; {cgroup_support().describe()}"
    try:
        if filter_program() is None:
            status += f"; no system-call filter on {platform.machine()}"
    except FilterUnavailable as exc:
        status += f"; no system-call filter ({exc}): sandboxed runs fail"
    return status
