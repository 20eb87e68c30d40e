"""Send the program's relative and in-memory SQLite databases to a scratch folder.

The rewrite happens in SQLAlchemy's public ``do_connect`` dialect event, just before the driver
connects: the engine, its URL, its pool and what echo logs stay exactly as the program made them;
only the file the driver opens moves. An in-memory database becomes a file too, so that a second
connection can show the committed rows (the "database" panel of a step).

Like ``:memory:``, each connection to an in-memory database gets a database of its own (a second
thread of a ``sqlite://`` engine sees no tables, as without sqlecho), which is gone once the
connection closes: the panel forgets it then.

Most of those connections are confined to the thread that runs the program's steps (SQLAlchemy
opens ``sqlite://`` with ``check_same_thread=True``, and the tracer reads the panel between two
steps, in that thread): nothing else can touch their file while the panel is read. Such a file
is opened with ``nolock=1`` and in SQLite's exclusive locking mode, without the lock and
change-counter system calls that every statement on a shared file pays (a tenth of a plain
run's time), and the panel reads it without locking (the ``unix-none`` VFS). The file holds
exactly the committed rows then: no commit is halfway between two steps, and the connection
never spills uncommitted pages into it (``cache_spill = OFF``, which the program cannot turn
back on: the PRAGMA is ignored). ``nolock=1`` also makes SQLite refuse WAL as it does for
``:memory:``: ``PRAGMA journal_mode=WAL`` answers ``memory``. A connection opened by another
thread, or shareable between threads, may be writing while the panel is read: its file keeps
SQLite's locking, and the panel waits for nobody (a locked file says so).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.pool import Pool

from .._transcript.values import jsonable_row

__all__ = ["ScratchDatabases"]

_MEMORY = ("", ":memory:")


class ScratchDatabases:
    """Redirects SQLite files while installed; remembers every database file the program opened."""

    def __init__(self, folder: Path, root: Path, max_rows: int = 200, *, memory_only: bool = False) -> None:
        """Args:
        folder: where relative and in-memory databases go; the caller creates and removes it.
        root: the program's folder. SQLAlchemy has already made a relative path absolute (against
            the working directory, which is ``root`` unless the program moved) by the time the
            driver connects, so "relative" means "inside ``root`` or the working directory".
        max_rows: rows kept per table in a snapshot (the rest is counted, not copied).
        memory_only: give only in-memory databases a stand-in, and leave every file where it is
            (a notebook's files are its own); the caller lists the files to show in ``files``.
        """
        self.memory_only = memory_only
        self.folder = folder
        self.root = root
        self.max_rows = max_rows
        self.files: list[Path] = []
        self._memory = 0
        # Stand-ins of in-memory databases read without locks (see above).
        self._exclusive: set[Path] = set()
        # A stand-in being connected, by thread, until the pool's "connect" event names its
        # connection; then by id of that connection: (file, thread that opened it, whether only
        # that thread may use it).
        self._connecting: dict[int, tuple[Path, bool]] = {}
        self._stand_ins: dict[int, tuple[Path, int, bool]] = {}
        self._thread = threading.get_ident()
        self.forgotten = 0
        """How many databases have left the panel (their connection closed): a reason to read the
        tables again although no statement ran."""
        self._installed = False

    @property
    def installed(self) -> bool:
        return self._installed

    def install(self) -> None:
        self._thread = threading.get_ident()  # the thread that runs the steps and reads the panel
        event.listen(Engine, "do_connect", self._on_connect)
        event.listen(Pool, "connect", self._on_pool_connect)
        event.listen(Pool, "close", self._on_close)
        event.listen(Pool, "close_detached", self._on_close)
        self._installed = True

    def remove(self) -> None:
        if self._installed:
            event.remove(Engine, "do_connect", self._on_connect)
            event.remove(Pool, "connect", self._on_pool_connect)
            event.remove(Pool, "close", self._on_close)
            event.remove(Pool, "close_detached", self._on_close)
            self._installed = False

    def _on_pool_connect(self, dbapi_connection: object, _record: object) -> None:
        """Name the connection of the stand-in that ``do_connect`` just made (any driver)."""
        thread = threading.get_ident()
        connecting = self._connecting.pop(thread, None)
        if connecting is not None:
            path, same_thread = connecting
            self._stand_ins[id(dbapi_connection)] = (path, thread, same_thread)

    def _on_close(self, dbapi_connection: object, *_record: object) -> None:
        """An in-memory database ends with its connection: its stand-in leaves the panel."""
        entry = self._stand_ins.get(id(dbapi_connection))
        if entry is None:
            return
        path, owner, same_thread = entry
        if same_thread and threading.get_ident() != owner:
            # sqlite3 refuses to close it from here (a SingletonThreadPool tidying up another
            # thread's connection): the database lives on with its thread.
            return
        del self._stand_ins[id(dbapi_connection)]
        self._exclusive.discard(path)
        if path in self.files:
            self.files.remove(path)
        self.forgotten += 1
        path.unlink(missing_ok=True)

    def _remember(self, path: Path) -> None:
        if path not in self.files:
            self.files.append(path)

    def _memory_file(self) -> Path:
        self._memory += 1
        return self.folder / f"memory-{self._memory}.sqlite"

    def redirect(self, database: str, uri: bool) -> str:
        """Where the driver should open ``database`` (a filename, or a ``file:`` URI if ``uri``)."""
        if self.memory_only and database not in _MEMORY:
            return database
        if uri and database.startswith("file:"):
            parts = urlsplit(database)
            query = parse_qs(parts.query)
            if query.get("mode") == ["memory"]:
                return database
            relative = self._relative(parts.path) if parts.path else None
            if relative is not None:
                target = self.folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                self._remember(target)
                return f"file:{target}" + (f"?{parts.query}" if parts.query else "")
            if parts.path:
                self._remember(Path(parts.path))
            return database
        if database in _MEMORY:
            target = self._memory_file()
        else:
            relative = self._relative(database)
            if relative is None:
                self._remember(Path(database))
                return database
            target = self.folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
        self._remember(target)
        return str(target)

    def _relative(self, database: str) -> str | None:
        """The path of ``database`` relative to the program's folder or working directory."""
        if not os.path.isabs(database):
            return database
        for root in (str(self.root), os.getcwd()):
            if os.path.commonpath([root, database]) == root:
                return os.path.relpath(database, root)
        return None

    def _on_connect(
        self, dialect: Dialect, _conn_rec: object, cargs: list[Any], cparams: dict[str, Any]
    ) -> object:
        if dialect.name != "sqlite":
            return None
        uri = bool(cparams.get("uri"))
        in_cargs = bool(cargs) and isinstance(cargs[0], str)
        if in_cargs:
            original = cargs[0]
        elif isinstance(cparams.get("database"), str):
            original = cparams["database"]
        else:
            return None
        database = self.redirect(original, uri)
        pysqlite = dialect.driver == "pysqlite"
        same_thread = False
        if original in _MEMORY:
            # sqlite3 refuses a connection made with check_same_thread=True (SQLAlchemy's choice
            # for sqlite://) in any other thread; other drivers run theirs in threads of their own.
            same_thread = pysqlite and bool(cparams.get("check_same_thread", True))
            self._connecting[threading.get_ident()] = (Path(database), same_thread)
        # A scratch file stands in for the program's database: skip the fsync on every COMMIT
        # that a real file pays, or a traced run would be several times slower than a plain one.
        # The PRAGMAs go to the driver directly, so neither echo nor our events see them.
        stand_in = same_thread and threading.get_ident() == self._thread
        opened = f"file:{quote(database)}?nolock=1" if stand_in else database
        if in_cargs:
            cargs[0] = opened
        else:
            cparams["database"] = opened
        if not pysqlite or not database.startswith(str(self.folder)):
            return None
        if stand_in:
            cparams["uri"] = True  # SQLAlchemy hands each connect its own copy of the arguments
        connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA journal_mode = MEMORY")
        if stand_in:
            # "main." only: a database the program attaches keeps normal locking (and an
            # unqualified "PRAGMA locking_mode" still answers "normal", as for :memory:).
            connection.execute("PRAGMA main.locking_mode = EXCLUSIVE")
            connection.execute("PRAGMA main.cache_spill = OFF")
            connection.set_authorizer(_no_cache_spill_change)
            self._exclusive.add(Path(database))
        return connection

    def tables(self) -> dict[str, object]:
        """Committed rows of every table, as a separate read-only connection sees them.

        Never waits: if the program holds a lock that hides the rows, the table says so.
        """
        result: dict[str, object] = {}
        several = len(self.files) > 1
        for path in self.files:
            if not path.exists():
                continue
            for name, table in _read(path, self.max_rows, path in self._exclusive).items():
                key = f"{path.name}:{name}" if several and name in result else name
                result[key] = table
        return result


def _no_cache_spill_change(action: int, name: str | None, value: str | None, *_where: object) -> int:
    """The authorizer of a stand-in read without locks: ``PRAGMA cache_spill = ...`` is ignored
    (it answers no row either way), so that no uncommitted page reaches the file."""
    if action == sqlite3.SQLITE_PRAGMA and value is not None and (name or "").lower() == "cache_spill":
        return sqlite3.SQLITE_IGNORE
    return sqlite3.SQLITE_OK


def _read(path: Path, max_rows: int, unlocked: bool = False) -> dict[str, object]:
    """The tables of ``path``; ``unlocked``: without taking SQLite's locks (see the module)."""
    # A WAL file holds commits that the main file does not have yet: only a locking reader
    # finds them (and waits for nobody: a locked file says so in the panel).
    vfs = "&vfs=unix-none" if unlocked and not Path(f"{path}-wal").exists() else ""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro{vfs}", uri=True, timeout=0)
    except sqlite3.Error:
        return {}
    tables: dict[str, object] = {}
    try:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            cursor = connection.execute(f"SELECT * FROM {quoted} LIMIT {max_rows + 1}")
            columns = [d[0] for d in cursor.description]
            rows = [jsonable_row(row) for row in cursor.fetchall()]
            table: dict[str, object] = {"columns": columns, "rows": rows[:max_rows]}
            # The panel matches a row with its previous version by primary key; a table
            # without one (no column with a pk position) is matched by whole rows.
            key = sorted((info[5], info[1]) for info in connection.execute(f"PRAGMA table_info({quoted})"))
            if any(position for position, _ in key):
                table["primary_key"] = [column for position, column in key if position]
            if len(rows) > max_rows:
                (total,) = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()
                table["total_rows"] = total
            tables[name] = table
    except sqlite3.DatabaseError as exc:
        tables["(unavailable)"] = {"columns": ["reason"], "rows": [[str(exc)]]}
    finally:
        connection.close()
    return tables
