"""Warm workers for the app: a trace starts in a process that has already imported SQLAlchemy.

Each worker runs one job and is then killed (a fresh interpreter per program: no state, no
SQLModel registry, no module left over from the previous student). The pool keeps ``size``
spare workers started, hands one to each request, and starts its replacement in a background
thread. Streamlit runs every session in its own thread, so every method is thread-safe.
"""

from __future__ import annotations

import atexit
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .launch import Sandbox, SandboxRefused, default_sandbox
from .limits import Limits
from .processes import WorkerProcess

__all__ = ["WorkerPool", "default_pool"]

_MAX_FOLDERS = 16


class WorkerPool:
    """Keeps ``size`` warm workers ready; :func:`sqlecho._sandbox.runner.run_sandboxed` takes one."""

    def __init__(
        self,
        size: int = 2,
        *,
        limits: Limits | None = None,
        sandbox: Sandbox | None = None,
        folders: tuple[Path, ...] = (),
        sockets: tuple[Path, ...] = (),
    ) -> None:
        """Args:
        size: spare workers to keep (each ~60 MB of memory while it waits).
        limits: the default limits of a run; ``scratch`` is fixed when a worker starts.
        sandbox: how workers start (default: bubblewrap when it works here).
        folders: program folders the workers can read. A program from another folder gets a
            worker started for it, and that folder is added for the next spare workers.
        sockets: folders of servers' sockets every worker is shown (the runs' PostgreSQL, so
            that a run on it can take a warm worker too; a run on SQLite knows no password).
        """
        if size < 0:
            raise ValueError(f"pool size must be 0 or more, got {size}")
        self.size = size
        self.limits = limits or Limits()
        self.sandbox = sandbox or default_sandbox()
        self.folders = [Path(folder).absolute() for folder in folders]
        self.sockets = tuple(Path(folder).absolute() for folder in sockets)
        self.started = 0
        """Workers started so far, spares and cold ones (for tests and measurements)."""
        self.warm_runs = 0
        """Runs that got a spare worker."""
        self._spares: list[WorkerProcess] = []
        self._closed = False
        self._changed = threading.Condition()
        self._filler = threading.Thread(target=self._fill, name="sqlecho-pool", daemon=True)
        self._filler.start()
        # One thread closes finished workers, so a burst of runs queues up rather than piles up.
        self._closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlecho-close")

    def _start(self, folders: tuple[Path, ...]) -> WorkerProcess:
        worker = WorkerProcess(self.sandbox, folders, self.limits, sockets=self.sockets)
        with self._changed:
            self.started += 1
        return worker

    def _fill(self) -> None:
        while True:
            with self._changed:
                while not self._closed and len(self._spares) >= self.size:
                    self._changed.wait()
                if self._closed:
                    return
                folders, sockets = tuple(self.folders), self.sockets
            try:
                worker = self._start(folders)
            except Exception:  # noqa: BLE001 - out of memory or processes, a folder refused: retry
                with self._changed:
                    self._changed.wait(timeout=1.0)
                continue
            with self._changed:
                closed = self._closed
                outdated = folders != tuple(self.folders) or sockets != self.sockets
                if not (closed or outdated):
                    self._spares.append(worker)
                    self._changed.notify_all()
            if closed or outdated:  # started before the pool learned a folder: start another
                worker.close()
            if closed:
                return

    def acquire(self, folder: Path | None) -> WorkerProcess:
        """A worker that can run a program from ``folder`` (None: a folder that exists only
        inside the sandbox): a warm spare if one fits.

        Raises SandboxRefused for a folder that is a symbolic link or belongs to a user other
        than the server's (or root): the pool shows its folders to every later run, and such a
        folder may have been planted by someone else.
        """
        if folder is not None:
            _check_shareable(folder)
        stale: list[WorkerProcess] = []
        chosen = None
        confined = self.sandbox.confined()  # the first call tries bubblewrap: not under the lock
        with self._changed:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            for worker in list(self._spares):
                if not worker.alive():
                    self._spares.remove(worker)
                    stale.append(worker)
                elif chosen is None and (folder is None or worker.covers(folder)):
                    self._spares.remove(worker)
                    chosen = worker
                    self.warm_runs += 1
            if folder is None:
                folders: tuple[Path, ...] = ()
            elif chosen is None and folder.exists() and confined:
                if folder not in self.folders and len(self.folders) < _MAX_FOLDERS:
                    self.folders.append(folder)
                    # Spares that cannot read it would never serve the lessons of that folder.
                    stale += self._spares
                    self._spares = []
            if folder is not None:
                folders = tuple(self.folders) if folder in self.folders else (*self.folders, folder)
            self._changed.notify_all()
        for worker in stale:
            worker.close()
        if chosen is not None:
            return chosen
        try:
            return self._start(folders)
        except Exception:
            with self._changed:  # the next spares must not fail for this folder too
                if folder in self.folders:
                    self.folders.remove(folder)
            raise

    def show_socket(self, folder: Path) -> None:
        """Show a server's socket folder (the runs' PostgreSQL, started after the pool) to the
        next spare workers: the spares that cannot see it are replaced, so that later runs on
        that server take a warm worker too."""
        folder = Path(folder).absolute()
        with self._changed:
            if folder in self.sockets or self._closed:
                return
            self.sockets = (*self.sockets, folder)
            stale, self._spares = self._spares, []
            self._changed.notify_all()
        for worker in stale:
            worker.close()

    def retire(self, worker: WorkerProcess) -> None:
        """Close a worker that sent its whole transcript, in the background: it ends by itself,
        and its namespace and control group winding down is no part of anyone's wait."""
        try:
            self._closer.submit(worker.close, finished=True)
        except RuntimeError:  # the pool is closed (or closing): close it here
            worker.close(finished=True)

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until ``size`` spares are started (not necessarily done importing)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._closed or len(self._spares) >= self.size, timeout)

    def close(self) -> None:
        """Kill the spare workers and stop replacing them. Runs in progress may be cut short:
        bubblewrap's ``--die-with-parent`` follows the thread that started a worker."""
        with self._changed:
            self._closed = True
            spares, self._spares = self._spares, []
            self._changed.notify_all()
        for worker in spares:
            worker.close()
        self._closer.shutdown(wait=True)  # the retired ones too: nothing of the pool outlives it
        if self._filler is not threading.current_thread():
            self._filler.join(timeout=5)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _check_shareable(folder: Path) -> None:
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return  # nothing to show; the worker sees no such folder either
    except OSError as exc:
        raise SandboxRefused(f"cannot look at the program's folder {folder} ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode) or os.path.realpath(folder) != str(folder):
        raise SandboxRefused(
            f"The program's folder {folder} is (or passes through) a symbolic link; the sandbox "
            "shows only real folders. Use the folder's real path."
        )
    if info.st_uid not in (os.geteuid(), 0):
        raise SandboxRefused(
            f"The program's folder {folder} belongs to another user (uid {info.st_uid}); the "
            "sandbox shows only folders of the server's own user."
        )


_default: WorkerPool | None = None
_default_lock = threading.Lock()


def default_pool(size: int = 2, limits: Limits | None = None) -> WorkerPool:
    """The app's pool, created on first use with ``size`` spare workers and ``limits`` (the
    settings of :class:`~sqlecho._sandbox.settings.SandboxSettings`); later calls return it."""
    global _default
    with _default_lock:
        if _default is None:
            _default = WorkerPool(size, limits=limits)
            atexit.register(_default.close)
        return _default
