"""A PostgreSQL server for traced programs, and one throwaway database per run.

Programs learn on SQLite by default; the same program can run against PostgreSQL, where ids come
from sequences, one-row INSERTs use ``RETURNING`` and ``SELECT ... FOR UPDATE`` really blocks.
This module owns the server's life cycle and the databases the runs get. It never imports
SQLAlchemy: it talks to the server through psycopg 3 (imported when first needed).

The life cycle is the one test suites use (pytest-postgresql, testing.postgresql): Debian's
``postgresql`` binaries make a private cluster with ``initdb``, which listens only on a unix
socket (no TCP port at all), with ``fsync`` off, since nothing in it outlives a run. The server
starts on first use and stops when the process that started it exits. ``SQLECHO_POSTGRES_URL``
names an existing server instead (its user needs ``CREATEDB`` and ``CREATEROLE``).

Isolation per run. Each run gets a database cloned from a template (``CREATE DATABASE ...
TEMPLATE``, tens of milliseconds, so a few are made ahead of time) and a login role of its own
that owns it, is not a superuser, holds no predefined role (so no ``pg_read_file``, no ``COPY
... TO PROGRAM``, no server-side large-object import), has a ``CONNECTION LIMIT``, a
``statement_timeout`` and a ``temp_file_limit``, and a random password. ``CONNECT`` on every
run's database and on the template is revoked from ``PUBLIC``: a run cannot open another run's
database. Local connections need a password (the superuser's checked with SCRAM, a run's with
``md5``, see ``PostgresCluster._local_md5``): the socket can be handed to a sandbox without
handing it the superuser. Both the database and the role are dropped after the
run (``DROP DATABASE ... WITH (FORCE)`` ends the run's connections first).

As root, the server runs as the ``postgres`` user that Debian's package creates (PostgreSQL
refuses to run as root), in a folder of its own under ``/tmp``, since root's cache folder is
not open to other users.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import hashlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .settings import cache_dir, user_cache_dir

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "PostgresCluster",
    "PostgresUnavailable",
    "RunDatabase",
    "RunDatabases",
    "RunSettings",
    "ServerWitness",
    "cache_folder",
    "connector",
    "default_databases",
    "find_binaries",
    "from_url",
    "socket_folder",
]

_TEMPLATE = "sqlecho_template"
_SUPERUSER = "sqlecho"
_SOCKET_FILE = ".s.PGSQL.5432"
# A unix socket's path must fit in sockaddr_un.sun_path (108 bytes on Linux, NUL included).
_MAX_SOCKET_PATH = 100
_SERVER_USER = "postgres"
_LOCK_SPACE = 0x53514C45
"""The first key of the advisory locks that say which owners of run databases are alive."""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be had here; the message says why and what to install."""


def find_binaries(
    environ: Mapping[str, str] = os.environ,
    *,
    debian: Path = Path("/usr/lib/postgresql"),
    pg_config: str | None = "pg_config",
) -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``.

    ``SQLECHO_POSTGRES_BIN`` first, then Debian's ``/usr/lib/postgresql/<version>/bin`` (the
    newest), then ``pg_config --bindir``. Raises :class:`PostgresUnavailable` when none has them.
    """
    for folder in _binary_folders(environ, debian, pg_config):
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresUnavailable(
        "PostgreSQL's server programs (initdb, pg_ctl) were not found: install Debian's "
        "'postgresql' package, set SQLECHO_POSTGRES_BIN to their folder, or set "
        "SQLECHO_POSTGRES_URL to an existing server"
    )


def _binary_folders(environ: Mapping[str, str], debian: Path, pg_config: str | None) -> Iterator[Path]:
    """Where the server programs may be, in :func:`find_binaries`' order; ``pg_config`` (a
    process of its own) is asked only when the folders before it had none."""
    if environ.get("SQLECHO_POSTGRES_BIN", "").strip():
        yield Path(environ["SQLECHO_POSTGRES_BIN"].strip())
    if debian.is_dir():
        versions = [path for path in debian.iterdir() if path.name.replace(".", "").isdigit()]
        versions.sort(key=lambda path: [int(part) for part in path.name.split(".")], reverse=True)
        yield from (path / "bin" for path in versions)
    program = shutil.which(pg_config) if pg_config else None
    if program:
        found = subprocess.run([program, "--bindir"], capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip():
            yield Path(found.stdout.strip())


@dataclass(frozen=True)
class RunSettings:
    """The limits of one run's role, enforced by the server itself."""

    connection_limit: int = 8
    """Connections the run may hold at once (a second session, a second thread, a pool)."""
    statement_timeout_ms: int = 10_000
    """An endless query is cancelled after this long."""
    lock_timeout_ms: int = 5_000
    """A lock wait is given up after this long (a run waiting on itself ends with an error)."""
    temp_file_limit_kb: int = 64 * 1024
    """Temporary files one session may write (sorts and hashes that spill)."""
    idle_in_transaction_ms: int = 30_000
    """A connection left idle inside a transaction is closed after this long."""


@dataclass(frozen=True)
class RunDatabase:
    """One run's database and role: what the program connects with."""

    name: str
    role: str
    password: str
    socket_dir: str
    """The folder holding the server's socket (bind it into the sandbox at the same path)."""
    host: str | None = None
    """A host name, for a server reached by TCP (``SQLECHO_POSTGRES_URL``); None: the socket."""
    port: int | None = None

    def url(self, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL for this database (``postgresql+psycopg_async`` for asyncio)."""
        password = quote(self.password, safe="")
        if self.host:
            port = f":{self.port}" if self.port else ""
            return f"{driver}://{self.role}:{password}@{self.host}{port}/{self.name}"
        return f"{driver}://{self.role}:{password}@/{self.name}?host={quote(self.socket_dir, safe='/')}"

    def conninfo(self) -> str:
        """A libpq connection string for this database (for psycopg directly)."""
        host = self.host or self.socket_dir
        port = f" port={self.port}" if self.port else ""
        return f"host={host}{port} dbname={self.name} user={self.role} password={self.password}"


_LOCAL_SCRAM = re.compile(r"(?m)^(local\s+all\s+all\s+)scram-sha-256\s*$")


class PostgresCluster:
    """A private cluster: made with ``initdb`` on first start, unix socket only, ``fsync`` off.

    Thread-safe; :meth:`start` is idempotent. A cluster that this object started is stopped by
    :meth:`stop`, and at interpreter exit.
    """

    def __init__(self, folder: Path, *, binaries: Path | None = None, user: str | None = None) -> None:
        """Args:
        folder: where the cluster lives (``data/``, ``socket/``, the log and the password file).
            As root it is replaced by a folder under ``/tmp`` that the server's user can reach.
        binaries: the folder of ``initdb`` and ``pg_ctl`` (default: :func:`find_binaries`).
        user: the operating-system user that runs the server; default: this process's user, or
            ``postgres`` when this process is root.
        """
        self.binaries = binaries
        self.user = user or (_SERVER_USER if os.geteuid() == 0 else getpass.getuser())
        self.folder = _reachable_folder(Path(folder), self.user)
        self.data = self.folder / "data"
        self.socket_dir = _socket_folder(self.folder)
        self._password_file = self.folder / "superuser.password"
        self._lock = threading.Lock()
        self._started_here = False

    @property
    def log_file(self) -> Path:
        """The server's log (``pg_ctl -l``): where :class:`ServerWitness` reads a run's statements."""
        return self.folder / "server.log"

    @property
    def password(self) -> str:
        """The superuser's password (made at ``initdb``; only this folder's owner can read it)."""
        return self._password_file.read_text(encoding="ascii").strip()

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        """How the parent connects as the cluster's superuser."""
        return f"host={self.socket_dir} dbname={dbname} user={_SUPERUSER} password={self.password}"

    def running(self) -> bool:
        """Whether a server answers on this cluster's socket."""
        if not (self.data / "postmaster.pid").exists():
            return False
        status = self._run([self._bin("pg_ctl"), "status", "-D", str(self.data)], check=False)
        return status.returncode == 0

    def start(self) -> None:
        """Make the cluster if it is new, then start its server unless one already runs."""
        with self._lock:
            if not (self.data / "PG_VERSION").exists():
                self._initdb()
            changed = self._local_md5()
            if self.running():
                if changed:
                    self._run([self._bin("pg_ctl"), "reload", "-D", str(self.data)], check=False)
                return
            self._prepare_socket_folder()
            options = (
                f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}'"
                " -c unix_socket_permissions=0777 -c fsync=off -c synchronous_commit=off"
                " -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"
            )
            self._run(
                [
                    self._bin("pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.folder / "server.log"),
                    "-o",
                    options,
                ]
            )
            if not self._started_here:
                atexit.register(self.stop)
            self._started_here = True

    def stop(self) -> None:
        """Stop the server if this object started it (``fast``: connections are ended)."""
        with self._lock:
            if not self._started_here:
                return
            self._started_here = False
            if (self.data / "postmaster.pid").exists():
                self._run(
                    [self._bin("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"], check=False
                )

    def remove(self) -> None:
        """Stop the server (whoever started it) and delete the cluster's folders."""
        with self._lock:
            self._started_here = False
            if (self.data / "postmaster.pid").exists():
                self._run(
                    [self._bin("pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w"], check=False
                )
        shutil.rmtree(self.folder, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def _initdb(self) -> None:
        if self.data.exists():
            shutil.rmtree(self.data)  # a half-made cluster from an interrupted first start
        self._password_file.write_text(secrets.token_urlsafe(24), encoding="ascii")
        os.chmod(self._password_file, 0o600)
        self._give(self._password_file)
        self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                _SUPERUSER,
                "--auth-local=scram-sha-256",  # the superuser's password; runs: see _local_md5
                "--auth-host=reject",
                f"--pwfile={self._password_file}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )

    def _local_md5(self) -> bool:
        """Local connections authenticate with ``md5`` (a cluster made before asked for
        ``scram-sha-256``); True when the file changed.

        With ``md5`` in ``pg_hba.conf`` a password stored as SCRAM (the superuser's) is still
        checked with SCRAM; a run's role, whose password is stored as MD5 (see
        :class:`RunDatabases`), is checked with one MD5 exchange instead of SCRAM's 4,096 rounds
        of PBKDF2 on both ends, about five milliseconds less for each of the run's connections.
        A run's password is random, lives as long as the run, and only travels over the local
        socket."""
        hba = self.data / "pg_hba.conf"
        try:
            text = hba.read_text(encoding="utf-8")
        except OSError:
            return False
        changed = _LOCAL_SCRAM.sub(r"\g<1>md5", text)
        if changed == text:
            return False
        hba.write_text(changed, encoding="utf-8")
        return True

    def _prepare_socket_folder(self) -> None:
        # Others may read the folder (a sandboxed run is shown it, bound read-only, to connect
        # to the socket in it) but not write it; the password protects the server, not the mode.
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._give(self.socket_dir)
        os.chmod(self.socket_dir, 0o755)

    def _give(self, path: Path) -> None:
        if os.geteuid() == 0 and self.user != "root":
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _bin(self, name: str) -> str:
        if self.binaries is None:
            self.binaries = find_binaries()
        return str(self.binaries / name)

    def _run(self, command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        demote: Callable[[], None] | None = None
        if os.geteuid() == 0 and self.user != "root":
            entry = pwd.getpwnam(self.user)

            def demote() -> None:
                os.setgroups([])
                os.setgid(entry.pw_gid)
                os.setuid(entry.pw_uid)

        environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            env=environment,
            cwd=self.folder,
            preexec_fn=demote,  # the server may not run as root
        )
        if check and done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-800:]}{' ' + tail if tail else ''}"
            )
        return done


def _reachable_folder(folder: Path, user: str) -> Path:
    """``folder``, made and owned by ``user``; as root, a folder under /tmp named after it.

    Root's own cache folder sits under ``/root`` (mode 700), where the ``postgres`` user cannot
    go; the server must be able to reach its data folder.
    """
    if os.geteuid() == 0 and user != "root":
        digest = hashlib.sha256(str(folder.absolute()).encode()).hexdigest()[:12]
        folder = Path("/tmp") / f"sqlecho-postgres-{digest}"
        entry = pwd.getpwnam(user)
        folder.mkdir(mode=0o711, exist_ok=True)
        info = folder.lstat()
        if info.st_uid not in (0, entry.pw_uid) or not os.path.isdir(folder) or os.path.islink(folder):
            raise PostgresUnavailable(f"{folder} exists and belongs to someone else: remove it first")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.chmod(folder, 0o711)
        return folder
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def socket_folder(url: str) -> Path | None:
    """The folder of the server's unix socket named by a run's ``url`` (its ``host`` query), if
    any: what the sandbox must show the run (read without SQLAlchemy: the parent stays light)."""
    hosts = parse_qs(urlsplit(url).query).get("host", [])
    host = unquote(hosts[-1]) if hosts else ""
    return Path(host) if host.startswith("/") else None


def _socket_folder(folder: Path) -> Path:
    """``folder/socket``, or a short folder under /tmp when that path is too long for a socket."""
    socket_dir = folder / "socket"
    if len(str(socket_dir / _SOCKET_FILE)) <= _MAX_SOCKET_PATH:
        return socket_dir
    digest = hashlib.sha256(str(folder.absolute()).encode()).hexdigest()[:12]
    return Path("/tmp") / f"sqlecho-pgsock-{digest}"


class RunDatabases:
    """Hands each run a fresh database and role, and keeps ``spare`` of them made ahead.

    ``admin`` connects as a user that may create databases and roles: the private cluster's
    superuser, or ``SQLECHO_POSTGRES_URL``'s user. Thread-safe.
    """

    def __init__(
        self,
        admin: Callable[[str], psycopg.Connection[tuple[object, ...]]],
        socket_dir: str,
        *,
        spare: int = 2,
        settings: RunSettings | None = None,
        host: str | None = None,
        port: int | None = None,
        prefix: str = "sqlecho_run",
        private: bool = False,
        log_file: Path | None = None,
    ) -> None:
        """Args:
        admin: opens an autocommit connection to the named database as the administrator.
        socket_dir: where the server's socket is (for the runs' URLs).
        spare: databases to keep made ahead (each about 7 MB on disk).
        settings: the limits every run's role gets.
        host, port: for a server reached by TCP instead of the socket.
        prefix: names of databases and roles start with it (several servers can share one
            PostgreSQL with prefixes of their own).
        private: the server is ours alone (the private cluster): ``CONNECT`` on its
            ``postgres`` and ``template1`` databases is revoked from ``PUBLIC`` too, so that a
            run's role can open no database but its own. Not done to a server named by
            ``SQLECHO_POSTGRES_URL``, whose other databases are its owner's business.
        log_file: the server's log, when this process can read it (the private cluster's):
            :meth:`witness` reads what a run sent from it.
        """
        self._admin = admin
        self.socket_dir = socket_dir
        self.spare = spare
        self.settings = settings or RunSettings()
        self.host = host
        self.port = port
        self.prefix = prefix
        self.private = private
        self.log_file = log_file
        self.owner = secrets.randbits(31)
        """This object's number among the servers that share the PostgreSQL server: in the names
        of its databases, and the key of the advisory lock that says it is alive."""
        self._presence: psycopg.Connection[tuple[object, ...]] | None = None
        self._ready: deque[RunDatabase] = deque()
        self._lock = threading.Lock()
        self._filling = False
        self._template_ready = False
        self._version = ""
        self._dropping: deque[RunDatabase] = deque()
        self._dropper: threading.Thread | None = None
        self._filler: threading.Thread | None = None
        self._md5 = False

    def prepare(self) -> None:
        """Make the template (once) and drop databases and roles left by a killed server."""
        with self._lock:
            if self._template_ready:
                return
            with contextlib.closing(self._admin("postgres")) as admin:
                exists = admin.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (_TEMPLATE,)
                ).fetchone()
                if not exists:
                    admin.execute(f'CREATE DATABASE "{_TEMPLATE}"')
                admin.execute(f'REVOKE ALL ON DATABASE "{_TEMPLATE}" FROM PUBLIC')
                admin.execute(f'ALTER DATABASE "{_TEMPLATE}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
                if self.private:
                    for shared in ("postgres", "template1"):
                        admin.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{shared}" FROM PUBLIC')
                    # The runs' passwords are stored as MD5 where local logins are checked with
                    # md5 (the private cluster: PostgresCluster._local_md5), else as the server likes.
                    rule = admin.execute(
                        "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'local'"
                        " AND 'all' = ANY(database) AND 'all' = ANY(user_name) ORDER BY line_number LIMIT 1"
                    ).fetchone()
                    self._md5 = rule is not None and rule[0] == "md5"
                if self.log_file is not None:
                    # Each line of the log names its role, database and application (see ServerWitness).
                    admin.execute(f"ALTER SYSTEM SET log_line_prefix = {_literal(_LOG_PREFIX)}")
                    admin.execute("SELECT pg_reload_conf()")
                self._sweep(admin)
            # Alive while this connection is open: another process sharing the server (a second
            # replica, the command line beside the app) sweeps only the runs of owners that are gone.
            self._presence = self._admin("postgres")
            self._presence.execute("SELECT pg_advisory_lock(%s, %s)", (_LOCK_SPACE, self.owner))
            self._template_ready = True

    def acquire(self) -> RunDatabase:
        """A database of its own for one run (made now when none is ready).

        The spare taken is replaced when a run gives its database back (:meth:`release`,
        :meth:`discard`), not now: ``CREATE DATABASE`` copies the template, a hundred
        milliseconds of the server's work that would compete with the run just starting."""
        self.prepare()
        with self._lock:
            ready = self._ready.popleft() if self._ready else None
        return ready or self._make()

    def version(self) -> str:
        """The server's version, such as ``15.18`` (asked once: a run does not wait for it)."""
        if not self._version:
            with contextlib.closing(self._admin("postgres")) as admin:
                row = admin.execute("SHOW server_version").fetchone()
            self._version = str(row[0]).split()[0] if row else ""
        return self._version

    def release(self, database: RunDatabase) -> None:
        """Drop the run's database and role (its connections are ended first), then make spares
        up to ``spare`` in the background."""
        self._drop(database)
        self._fill_later()

    def _drop(self, database: RunDatabase) -> None:
        with contextlib.closing(self._admin("postgres")) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{database.role}"')

    def witness(self, database: RunDatabase) -> ServerWitness | None:
        """From now on, the server logs every statement of ``database``'s role: the witness reads
        them back after the run. None when this process cannot read the server's log (a server
        named by ``SQLECHO_POSTGRES_URL``). Call it before the run's first connection."""
        if self.log_file is None:
            return None
        with contextlib.closing(self._admin("postgres")) as admin:
            admin.execute(f"ALTER ROLE \"{database.role}\" SET log_statement = 'all'")
        try:
            start = self.log_file.stat().st_size
        except OSError:
            return None
        return ServerWitness(self.log_file, start, database.role, database.name)

    def discard(self, database: RunDatabase) -> None:
        """:meth:`release` in the background, one database after another: the run's reader does
        not wait for ``DROP DATABASE`` (a database left by a process that exits first is swept
        by the next one to start, as its owner's lock is free)."""
        with self._lock:
            self._dropping.append(database)
            if self._dropper is not None and self._dropper.is_alive():
                return
            self._dropper = threading.Thread(target=self._drop_all, name="sqlecho-postgres-drop", daemon=True)
            self._dropper.start()

    def _drop_all(self) -> None:
        while True:
            with self._lock:
                if not self._dropping:
                    self._dropper = None
                    return
                database = self._dropping.popleft()
            with contextlib.suppress(Exception):  # a server gone meanwhile took its databases along
                self._drop(database)
            self._fill_later()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the databases given to :meth:`discard` are dropped (tests, shutdown)."""
        with self._lock:
            dropper = self._dropper
        if dropper is not None:
            dropper.join(timeout)

    @contextlib.contextmanager
    def database(self) -> Iterator[RunDatabase]:
        """``with databases.database() as db:`` a run's database, dropped at the end."""
        database = self.acquire()
        try:
            yield database
        finally:
            self.release(database)

    def close(self) -> None:
        """Drop the databases made ahead and those being discarded, and say this owner is gone."""
        self.settle()
        with self._lock:
            presence, self._presence = self._presence, None
            self._template_ready = False
            filler = self._filler
        if filler is not None:
            filler.join(30.0)  # a spare being made is dropped by its maker (see _fill)
        with self._lock:
            ready, self._ready = list(self._ready), deque()
        for database in ready:
            with contextlib.suppress(Exception):
                self._drop(database)
        if presence is not None:
            with contextlib.suppress(Exception):
                presence.close()

    def _make(self) -> RunDatabase:
        name = f"{self.prefix}_{self.owner:08x}_{secrets.token_hex(6)}"
        password = secrets.token_urlsafe(18)
        limits = self.settings
        with contextlib.closing(self._admin("postgres")) as admin:
            if self._md5:
                admin.execute("SET password_encryption = 'md5'")  # see PostgresCluster._local_md5
            # Identifiers are made here from hex digits; the password is a bound literal.
            admin.execute(
                f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION'
                f" NOBYPASSRLS CONNECTION LIMIT {int(limits.connection_limit)} PASSWORD " + _literal(password)
            )
            for setting, value in (
                ("statement_timeout", int(limits.statement_timeout_ms)),
                ("lock_timeout", int(limits.lock_timeout_ms)),
                ("temp_file_limit", f"'{int(limits.temp_file_limit_kb)}kB'"),
                ("idle_in_transaction_session_timeout", int(limits.idle_in_transaction_ms)),
            ):
                admin.execute(f'ALTER ROLE "{name}" SET {setting} = {value}')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}" OWNER "{name}"')
            admin.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
            admin.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO "{name}"')
        if self.private:
            # The first connection to a new database builds the server's cache of its catalog
            # (pg_internal.init); made here, ahead of time, the run's first connection finds it.
            with contextlib.suppress(Exception), contextlib.closing(self._admin(name)):
                pass
        return RunDatabase(name, name, password, self.socket_dir, self.host, self.port)

    def _fill_later(self) -> None:
        with self._lock:
            if self._filling or not self._template_ready or len(self._ready) >= self.spare:
                return
            self._filling = True
            self._filler = threading.Thread(target=self._fill, name="sqlecho-postgres-spares", daemon=True)
            self._filler.start()

    def _fill(self) -> None:
        try:
            while True:
                with self._lock:
                    if not self._template_ready or len(self._ready) >= self.spare:
                        return
                made = self._make()
                with self._lock:
                    kept = self._template_ready  # else closed meanwhile: not a spare of anyone's
                    if kept:
                        self._ready.append(made)
                if not kept:
                    self._drop(made)
                    return
        except Exception:  # spares are an optimisation: acquire() makes one itself
            return
        finally:
            with self._lock:
                self._filling = False

    def _sweep(self, admin: psycopg.Connection[tuple[object, ...]]) -> None:
        """Drop the databases and roles of owners that are gone (their advisory lock is free)."""
        alive = {
            int(str(row[0]))
            for row in admin.execute(
                "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND granted",
                (_LOCK_SPACE,),
            ).fetchall()
        }
        pattern = self.prefix.replace("_", r"\_") + r"\_%"
        databases = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
        ).fetchall()
        roles = admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (pattern,)).fetchall()
        for (name,) in databases:
            if self._owner_of(str(name)) not in alive:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for (role,) in roles:
            if self._owner_of(str(role)) not in alive:
                admin.execute(f'DROP ROLE IF EXISTS "{role}"')

    def _owner_of(self, name: str) -> int | None:
        """The owner number in ``<prefix>_<owner>_<run>``, or None for a name of another form."""
        parts = name[len(self.prefix) + 1 :].split("_")
        try:
            return int(parts[0], 16) if len(parts) == 2 else None
        except ValueError:
            return None


_LOG_PREFIX = "%m [%p] %q<%u@%d@%a> "
_LOG_LINE = re.compile(
    r"<(?P<role>[^@>]*)@(?P<database>[^@>]*)@(?P<application>[^>]*)> "
    r"(?:LOG:  (?:statement|execute [^:]*)|STATEMENT): (?P<statement>.*)"
)
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|\$\d+")
_DECLARE = re.compile(r"(?is)^\s*DECLARE\s+\S+\s+(?:[A-Z ]*?)CURSOR\s+(?:WITH(?:OUT)?\s+HOLD\s+)?FOR\s+")
PANEL_APPLICATION = "sqlecho panel"
"""The ``application_name`` of the connection that reads the step's committed rows (not the program's)."""


def _comparable(statement: str) -> str:
    """A statement as both sides can be compared: psycopg sends ``%(title)s`` as ``$1``, and a
    server-side cursor (``yield_per``) as ``DECLARE "c" CURSOR FOR <statement>``."""
    return " ".join(_PLACEHOLDER.sub("?", _DECLARE.sub("", statement.replace("%%", "%"))).split())


@dataclass(frozen=True)
class ServerWitness:
    """What the server itself logged of one run: every statement it received, which a program
    that rewrote the tracer in its own process cannot change.

    The check goes one way: every statement the transcript shows must be in the server's log. The
    server also logs what neither echo nor the transcript shows (the driver's own savepoints, the
    dialect's question about the isolation level), so more there is no disagreement.
    """

    log_file: Path
    start: int
    """The log's size when the run started: its lines are after it."""
    role: str
    database: str

    def statements(self) -> list[str]:
        """The run's statements, as the server logged them (the panel's reads left out)."""
        with self.log_file.open("rb") as log:
            log.seek(self.start)
            text = log.read().decode("utf-8", errors="replace")
        found: list[str] = []
        for line in text.splitlines():
            if line.startswith("\t") and found and found[-1] is not _OTHER:
                found[-1] = found[-1] + "\n" + line[1:]  # a statement of several lines goes on
                continue
            match = _LOG_LINE.search(line)
            if (
                match is not None
                and match["role"] == self.role
                and match["database"] == self.database
                and match["application"] != PANEL_APPLICATION
            ):
                found.append(match["statement"])
            else:
                found.append(_OTHER)
        return [statement for statement in found if statement is not _OTHER]

    def disagreement(self, transcript: Mapping[str, object]) -> str | None:
        """Why ``transcript`` shows what the server never received, or None when every statement
        it shows is in the server's log (an executemany once per row)."""
        received = Counter(_comparable(statement) for statement in self.statements())
        missing: list[str] = []
        steps = transcript.get("steps")
        for step in steps if isinstance(steps, list) else []:
            for event in step.get("events", []) if isinstance(step, dict) else []:
                if not isinstance(event, dict) or event.get("kind") != "sql":
                    continue
                statement = _comparable(str(event.get("statement", "")))
                parameters = event.get("parameters")
                times = len(parameters) if event.get("executemany") and isinstance(parameters, list) else 1
                for _ in range(max(times, 1)):
                    if received[statement] > 0:
                        received[statement] -= 1
                    else:
                        missing.append(statement)
        if not missing:
            return None
        count = len(missing)
        return (
            f"shows {count} statement{'s' * (count != 1)} that the PostgreSQL server never received, "
            f"according to its own log (the first: {missing[0][:80]})"
        )


_OTHER = "\0"
"""A log line that is not one of the run's statements (kept in place, for continuation lines)."""


def _literal(text: str) -> str:
    """A SQL string literal (``token_urlsafe`` text has no quote, but be exact anyway)."""
    return "'" + text.replace("'", "''") + "'"


def connector(conninfo: Callable[[str], str]) -> Callable[[str], psycopg.Connection[tuple[object, ...]]]:
    """An ``admin`` callable for :class:`RunDatabases`: autocommit psycopg connections."""

    def connect(dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        import psycopg

        return psycopg.connect(conninfo(dbname), autocommit=True, connect_timeout=10)

    return connect


def from_url(url: str) -> tuple[Callable[[str], str], str, str | None, int | None]:
    """``SQLECHO_POSTGRES_URL`` as (conninfo for a database, socket folder, host, port)."""
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if parts.scheme not in ("postgresql", "postgres"):
        raise PostgresUnavailable(f"SQLECHO_POSTGRES_URL must be a postgresql:// URL, not {parts.scheme}://")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    socket_dir = query.get("host", "") if query.get("host", "").startswith("/") else ""
    host = None if socket_dir or not parts.hostname else parts.hostname

    def conninfo(dbname: str) -> str:
        fields = {
            "host": socket_dir or host or "",
            "port": str(parts.port or ""),
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "dbname": dbname,
        }
        return " ".join(f"{key}={_conninfo_value(value)}" for key, value in fields.items() if value)

    return conninfo, socket_dir, host, parts.port


def _conninfo_value(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def cache_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the private cluster lives: ``postgres`` in ``SQLECHO_CACHE_DIR`` (or the user's
    cache folder, as for the app's stored transcripts; its ``off`` keeps no transcripts, but a
    cluster needs a folder, so it lives in the user's cache folder then)."""
    return (cache_dir(environ) or user_cache_dir(environ)) / "postgres"


_shared: tuple[PostgresCluster | None, RunDatabases] | None = None
_shared_lock = threading.Lock()


def default_databases(environ: Mapping[str, str] = os.environ) -> RunDatabases:
    """The process-wide :class:`RunDatabases`: ``SQLECHO_POSTGRES_URL``'s server, or a private
    cluster in :func:`cache_folder` started now (the first call waits for it: about a second,
    a few on the very first start, which makes the cluster)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            url = environ.get("SQLECHO_POSTGRES_URL", "").strip()
            if url:
                conninfo, socket_dir, host, port = from_url(url)
                _shared = (None, RunDatabases(connector(conninfo), socket_dir, host=host, port=port))
            else:
                cluster = PostgresCluster(cache_folder(environ))
                cluster.start()
                databases = RunDatabases(
                    connector(cluster.admin_conninfo),
                    str(cluster.socket_dir),
                    private=True,
                    log_file=cluster.log_file,
                )
                _shared = (cluster, databases)
        return _shared[1]
