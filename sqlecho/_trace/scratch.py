"""Send the program's relative and in-memory SQLite databases to a scratch folder.

The rewrite happens in SQLAlchemy's public ``do_connect`` dialect event, just before the driver
connects: the engine, its URL, its pool and what echo logs stay exactly as the program made them;
only the file the driver opens moves. An in-memory database becomes a file too, one per engine, so
that a second connection can show the committed rows (the "database" panel of a step).
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .._transcript.values import jsonable

__all__ = ["ScratchDatabases"]

_MEMORY = ("", ":memory:")


class ScratchDatabases:
    """Redirects SQLite files while installed; remembers every database file the program opened."""

    def __init__(self, folder: Path, root: Path, max_rows: int = 200) -> None:
        """Args:
        folder: where relative and in-memory databases go; the caller creates and removes it.
        root: the program's folder. SQLAlchemy has already made a relative path absolute (against
            the working directory, which is ``root`` unless the program moved) by the time the
            driver connects, so "relative" means "inside ``root`` or the working directory".
        max_rows: rows kept per table in a snapshot (the rest is counted, not copied).
        """
        self.folder = folder
        self.root = root
        self.max_rows = max_rows
        self.files: list[Path] = []
        self._memory: weakref.WeakKeyDictionary[Any, Path] = weakref.WeakKeyDictionary()
        self._installed = False

    def install(self) -> None:
        event.listen(Engine, "do_connect", self._on_connect)
        self._installed = True

    def remove(self) -> None:
        if self._installed:
            event.remove(Engine, "do_connect", self._on_connect)
            self._installed = False

    def _remember(self, path: Path) -> None:
        if path not in self.files:
            self.files.append(path)

    def _memory_file(self, dialect: Any) -> Path:
        path = self._memory.get(dialect)
        if path is None:
            path = self.folder / f"memory-{len(self._memory) + 1}.sqlite"
            self._memory[dialect] = path
        return path

    def redirect(self, database: str, dialect: Any, uri: bool) -> str:
        """Where the driver should open ``database`` (a filename, or a ``file:`` URI if ``uri``)."""
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
            target = self._memory_file(dialect)
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

    def _on_connect(self, dialect: Any, _conn_rec: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        if dialect.name != "sqlite":
            return None
        uri = bool(cparams.get("uri"))
        if cargs and isinstance(cargs[0], str):
            cargs[0] = database = self.redirect(cargs[0], dialect, uri)
        elif isinstance(cparams.get("database"), str):
            cparams["database"] = database = self.redirect(cparams["database"], dialect, uri)
        else:
            return None
        if dialect.driver != "pysqlite" or not database.startswith(str(self.folder)):
            return None
        # A scratch file stands in for an in-memory database: skip the fsync on every COMMIT that
        # a real file pays, or a traced run would be several times slower than a plain one. The
        # PRAGMA goes to the driver directly, so neither echo nor our events see it.
        connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA journal_mode = MEMORY")
        return connection

    def tables(self) -> dict[str, Any]:
        """Committed rows of every table, as a separate read-only connection sees them.

        Never waits: if the program holds a lock that hides the rows, the table says so.
        """
        result: dict[str, Any] = {}
        several = len(self.files) > 1
        for path in self.files:
            if not path.exists():
                continue
            for name, table in _read(path, self.max_rows).items():
                key = f"{path.name}:{name}" if several and name in result else name
                result[key] = table
        return result


def _read(path: Path, max_rows: int) -> dict[str, Any]:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0)
    except sqlite3.Error:
        return {}
    tables: dict[str, Any] = {}
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
            rows = [jsonable(list(row)) for row in cursor.fetchall()]
            table: dict[str, Any] = {"columns": columns, "rows": rows[:max_rows]}
            if len(rows) > max_rows:
                (total,) = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()
                table["total_rows"] = total
            tables[name] = table
    except sqlite3.OperationalError as exc:
        tables["(unavailable)"] = {"columns": ["reason"], "rows": [[str(exc)]]}
    finally:
        connection.close()
    return tables
