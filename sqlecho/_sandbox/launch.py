"""How a worker process is started: inside bubblewrap when it works here, else with rlimits alone.

In bubblewrap the worker sees a read-only view of what Python needs (the interpreter, the
virtualenv, the sqlecho package, the shared libraries) plus the folders of the programs it may
run, a private size-limited ``/tmp``, its own PID, network, IPC and UTS namespaces, no
environment beyond a few variables, and it dies with its parent. Started by root, the sandbox
has no user namespace (it would map to root outside); instead the worker keeps only
CAP_SETUID/CAP_SETGID and drops to a user of its own before it runs the program, so that the
kernel counts its processes apart from everyone else's.
"""

from __future__ import annotations

import os
import secrets
import shutil
import site
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TOKEN_VARIABLE", "Sandbox", "WorkerCommand", "default_sandbox", "sandbox_status"]

# What Python needs of /etc: the loader cache (speed) and the time zone (time.localtime).
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
# Top-level folders that may hold shared libraries or be symlinks into /usr (merged /usr).
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_WORKER = "from sqlecho._sandbox.worker import main; main()"
TOKEN_VARIABLE = "SQLECHO_WORKER"
"""Outside bubblewrap, the worker's token is also in its environment (see _processes.sweep)."""


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

    def command(self, folders: Iterable[Path], scratch_bytes: int, result_fd: int) -> WorkerCommand:
        """The command for a worker that may read ``folders`` and reports on ``result_fd``."""
        token = f"{self.tag}-{secrets.token_hex(6)}"
        python = [self.python, "-s", "-B", "-P", "-c", _WORKER, str(result_fd), token]
        if self.confined():
            readable = _top_folders(folders)
            bwrap = shutil.which(self.bwrap or "") or "bwrap"
            argv = [bwrap, *self._bwrap_args(readable, scratch_bytes), "--", *python]
            return WorkerCommand(argv, _environment("/tmp"), "/", None, readable, True, token)
        home = Path(tempfile.mkdtemp(prefix="sqlecho-worker-"))
        env = {**_environment(str(home)), TOKEN_VARIABLE: token}
        return WorkerCommand(python, env, str(home), home, (), False, token)

    def _bwrap_args(self, folders: Iterable[Path], scratch_bytes: int) -> list[str]:
        args = ["--die-with-parent", "--new-session", "--clearenv"]
        for name, value in _environment("/tmp").items():
            args += ["--setenv", name, value]
        if os.geteuid() == 0:
            # A user namespace would map uid 0 inside to root outside; without one, root keeps
            # just enough to become an unprivileged user of its own (see _worker.drop_privileges).
            args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
            args += ["--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-all"]
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
        for folder in folders:
            args += _bind(folder, made)
        # Nothing outside /tmp is writable: the root of the sandbox is a tmpfs without a size.
        args += ["--remount-ro", "/", "--chdir", "/tmp"]
        return args


def _bind(path: Path, made: set[Path]) -> list[str]:
    """Read-only bind of ``path`` at the same place; its new parents readable by everyone."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if parent not in made:
            args += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
    return [*args, "--ro-bind", str(path), str(path)]


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
    """How programs are confined here: "bubblewrap" or "limits only: <why>"."""
    return default_sandbox().status()
