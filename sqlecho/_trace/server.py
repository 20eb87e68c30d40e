"""Run the program's SQLite engines on a PostgreSQL database instead, and read its committed rows.

The same lesson on a server database: every engine the program creates for a ``sqlite`` URL (a
file or in-memory) is created for the run's PostgreSQL database instead, synchronous or asyncio
alike; engines for any other URL are left alone. The swap happens where SQLAlchemy turns a URL
into an engine (``URL._instantiate_plugins``, which both ``create_engine`` and
``create_async_engine`` call), so the program's engine, its pool, its events and what echo logs
are exactly those of a program written for PostgreSQL. SQLite's driver arguments
(``connect_args={"check_same_thread": False}``) mean nothing to psycopg and are dropped.

Unlike ``sqlite://``, where each connection has a database of its own, every connection of the
run reaches the same database: a second thread or a second engine sees the first one's tables.

The committed rows of the step's panel are read through a connection of psycopg's own, outside
SQLAlchemy (so no event reaches the transcript), in autocommit: it sees what another client
would, never the program's open transaction. It never waits: a table locked by the program
(uncommitted DDL) says so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL, make_url

from .._transcript.values import jsonable_row

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

__all__ = ["ServerDatabase"]

_Instantiate = Callable[[URL, dict[str, Any]], tuple[URL, list[object], dict[str, Any]]]


class ServerDatabase:
    """Sends ``sqlite`` engines to ``url`` while installed; reads that database's committed rows.

    Has the interface of :class:`~sqlecho._trace.scratch.ScratchDatabases` that the step
    builder reads (``tables()``, ``forgotten``, ``files``).
    """

    def __init__(self, url: str, max_rows: int = 200) -> None:
        """Args:
        url: the run's database, a ``postgresql+psycopg://`` URL.
        max_rows: rows kept per table in a snapshot (the rest is counted, not copied).
        """
        self.url = make_url(url)
        self.max_rows = max_rows
        self.files: list[Path] = []
        self.forgotten = 0
        """Always 0: the database outlives every connection of the run."""
        self.redirected = 0
        """Engines created for a ``sqlite`` URL and sent here instead."""
        self._saved: _Instantiate | None = None
        self._reader: psycopg.Connection[TupleRow] | None = None
        self._opening: threading.Thread | None = None

    def install(self) -> None:
        original: _Instantiate = URL._instantiate_plugins
        target = self.url
        owner = self

        def _instantiate_plugins(
            url: URL, kwargs: dict[str, Any]
        ) -> tuple[URL, list[object], dict[str, Any]]:
            if url.get_backend_name() == "sqlite":
                url = target
                kwargs = {key: value for key, value in kwargs.items() if key != "connect_args"}
                owner.redirected += 1
            return original(url, kwargs)

        self._saved = original
        URL._instantiate_plugins = _instantiate_plugins  # type: ignore[method-assign,assignment]
        # The panel's connection is made while the program starts (its handshake is mostly the
        # server's work): the first step's snapshot finds it open.
        self._opening = threading.Thread(target=self._open_quietly, name="sqlecho-panel-connect", daemon=True)
        self._opening.start()

    def _open_quietly(self) -> None:
        try:
            self._open()
        except Exception:  # noqa: BLE001 - the first snapshot tries again and says why
            pass

    def remove(self) -> None:
        self._wait_opening()
        if self._saved is not None:
            URL._instantiate_plugins = self._saved  # type: ignore[method-assign,assignment]
            self._saved = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def version(self) -> str:
        """The server's version (``SHOW server_version``), or "" when it cannot be reached."""
        try:
            row = self._connection().execute("SHOW server_version").fetchone()
        except Exception:  # the panel is a view: a failed read must not fail the run
            return ""
        return str(row[0]).split()[0] if row else ""

    def _wait_opening(self) -> None:
        opening, self._opening = self._opening, None
        if opening is not None:
            opening.join()

    def _connection(self) -> psycopg.Connection[TupleRow]:
        self._wait_opening()
        if self._reader is None or self._reader.closed:
            self._open()
        assert self._reader is not None
        return self._reader

    def _open(self) -> None:
        if self._reader is None or self._reader.closed:
            import psycopg

            url = self.url
            host = url.query.get("host") or url.host or ""
            self._reader = psycopg.connect(
                host=host[-1] if isinstance(host, tuple) else host,
                port=url.port,
                user=url.username,
                password=url.password,
                dbname=url.database,
                autocommit=True,
                connect_timeout=5,
                application_name="sqlecho panel",
                options="-c lock_timeout=50 -c statement_timeout=2000",
            )

    def tables(self) -> dict[str, object]:
        """Committed rows of every table of the run's database, in the order they were made."""
        try:
            connection = self._connection()
            # The tables and their primary keys in one round trip (each costs the server's time).
            tables = connection.execute(
                "SELECT c.relname, ARRAY(SELECT a.attname::text FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = c.oid"
                " AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum))"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.oid"
            ).fetchall()
        except Exception as exc:  # the panel is a view: a failed read must not fail the run
            return {"(unavailable)": {"columns": ["reason"], "rows": [[_first_line(exc)]]}}
        result: dict[str, object] = {}
        for name, keys in tables:
            result[name] = self._table(connection, name, list(keys or ()))
        return result

    def _table(
        self, connection: psycopg.Connection[TupleRow], name: str, keys: list[str]
    ) -> dict[str, object]:
        import psycopg
        from psycopg import sql

        table = sql.Identifier(name)
        try:
            order = (
                sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, keys)))
                if keys
                else sql.SQL("")
            )
            cursor = connection.execute(
                sql.SQL("SELECT * FROM {}{} LIMIT {}").format(table, order, sql.Literal(self.max_rows + 1))
            )
            columns = [column.name for column in cursor.description or ()]
            rows = [jsonable_row(row) for row in cursor.fetchall()]
            snapshot: dict[str, object] = {"columns": columns, "rows": rows[: self.max_rows]}
            if len(rows) > self.max_rows:
                counted = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
                snapshot["total_rows"] = counted[0] if counted else len(rows)
            return snapshot
        except psycopg.errors.LockNotAvailable:
            return {"columns": ["reason"], "rows": [["locked by the program's open transaction"]]}
        except psycopg.Error as exc:
            return {"columns": ["reason"], "rows": [[_first_line(exc)]]}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
