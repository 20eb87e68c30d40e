"""The PostgreSQL server of traced runs: a private cluster on a unix socket, one database per run.

These start Debian's PostgreSQL for real (installed by .ci/run); they skip elsewhere and fail in
CI when it is missing.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlecho._sandbox.postgres import (
    PostgresCluster,
    PostgresUnavailable,
    RunDatabase,
    RunDatabases,
    RunSettings,
    connector,
    find_binaries,
    from_url,
)
from tests.conftest import _require

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres


def _binaries_or_skip() -> Path:
    try:
        return find_binaries()
    except PostgresUnavailable as error:
        _require(False, str(error))
        raise


@pytest.fixture(scope="module")
def cluster(postgres_server: PostgresCluster) -> PostgresCluster:
    """The session's private cluster (tests/conftest.py)."""
    return postgres_server


@pytest.fixture(scope="module")
def databases(cluster: PostgresCluster) -> Iterator[RunDatabases]:
    made = RunDatabases(
        connector(cluster.admin_conninfo),
        str(cluster.socket_dir),
        spare=1,
        settings=RunSettings(connection_limit=3, statement_timeout_ms=300, lock_timeout_ms=200),
        private=True,
    )
    try:
        yield made
    finally:
        made.close()


def _connect(database: RunDatabase, dbname: str | None = None) -> psycopg.Connection:  # type: ignore[type-arg]
    info = database.conninfo()
    if dbname is not None:
        info = info.replace(f"dbname={database.name}", f"dbname={dbname}")
    return psycopg.connect(info, autocommit=True, connect_timeout=5)


def test_the_cluster_listens_on_a_unix_socket_only_with_fsync_off(cluster: PostgresCluster) -> None:
    with psycopg.connect(cluster.admin_conninfo(), autocommit=True) as admin:
        listen, fsync, sockets = admin.execute(
            "SELECT current_setting('listen_addresses'), current_setting('fsync'),"
            " current_setting('unix_socket_directories')"
        ).fetchone()
    assert (listen, fsync) == ("", "off")
    assert sockets == str(cluster.socket_dir)
    assert stat.S_ISSOCK(os.stat(cluster.socket_dir / ".s.PGSQL.5432").st_mode)


def test_the_superuser_needs_its_password(cluster: PostgresCluster) -> None:
    without = cluster.admin_conninfo().replace(f"password={cluster.password}", "password=wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(without)


def test_start_is_idempotent_and_stop_stops_only_what_it_started(tmp_path: Path) -> None:
    first = PostgresCluster(tmp_path / "pg", binaries=_binaries_or_skip())
    try:
        first.start()
        first.start()
        again = PostgresCluster(tmp_path / "pg", binaries=first.binaries)
        again.start()  # finds the running server: adopts it, starts nothing
        again.stop()
        assert first.running()
        first.stop()
        assert not first.running()
    finally:
        first.remove()
    assert not first.folder.exists()


def test_a_run_owns_a_fresh_database_and_can_build_in_it(databases: RunDatabases) -> None:
    with databases.database() as database, _connect(database) as connection:
        user, owner, superuser = connection.execute(
            "SELECT current_user, pg_get_userbyid(datdba), rolsuper FROM pg_database, pg_roles"
            " WHERE datname = current_database() AND rolname = current_user"
        ).fetchone()
        assert user == owner == database.role
        assert superuser is False
        connection.execute("CREATE TABLE book (id serial PRIMARY KEY, title text)")
        connection.execute("INSERT INTO book (title) VALUES ('Orbit')")
        assert connection.execute("SELECT count(*) FROM book").fetchone() == (1,)


def test_a_released_database_and_its_role_are_gone(cluster: PostgresCluster, databases: RunDatabases) -> None:
    database = databases.acquire()
    held = _connect(database)
    databases.release(database)  # ends the run's connections too
    with psycopg.connect(cluster.admin_conninfo(), autocommit=True) as admin:
        assert (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database.name,)).fetchone() is None
        )
        assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (database.role,)).fetchone() is None
    assert held.closed or held.broken or _fails(lambda: held.execute("SELECT 1"))


def _fails(action: object) -> bool:
    try:
        action()  # type: ignore[operator]
    except psycopg.Error:
        return True
    return False


def test_two_runs_never_share_a_database(databases: RunDatabases) -> None:
    with databases.database() as one, databases.database() as two:
        assert one.name != two.name and one.role != two.role
        with _connect(one) as connection:
            connection.execute("CREATE TABLE mine (id int)")
        with _connect(two) as connection:
            assert connection.execute("SELECT to_regclass('mine')").fetchone() == (None,)


@pytest.mark.parametrize("other", ["the other run's", "sqlecho_template", "postgres", "template1"])
def test_a_run_cannot_open_any_database_but_its_own(databases: RunDatabases, other: str) -> None:
    with databases.database() as mine, databases.database() as theirs:
        target = theirs.name if other == "the other run's" else other
        with pytest.raises(psycopg.OperationalError, match="permission denied|not currently accepting"):
            _connect(mine, target)


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("SELECT pg_read_file('/etc/passwd')", "permission denied"),
        ("SELECT pg_ls_dir('/')", "permission denied"),
        ("COPY (SELECT 1) TO PROGRAM 'id'", "must be superuser or have privileges"),
        ("COPY (SELECT 1) TO '/tmp/sqlecho-escape'", "must be superuser or have privileges"),
        ("SELECT lo_import('/etc/passwd')", "permission denied"),
        ("CREATE ROLE intruder SUPERUSER", "must be superuser|permission denied"),
        ("CREATE DATABASE another", "permission denied"),
        ("ALTER SYSTEM SET fsync = on", "permission denied|must be superuser"),
        ("SET session_replication_role = replica", "permission denied"),
    ],
)
def test_hostile_statements_are_refused(databases: RunDatabases, statement: str, refusal: str) -> None:
    with databases.database() as database, _connect(database) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refusal):
            connection.execute(statement)
    assert not Path("/tmp/sqlecho-escape").exists()


def test_an_endless_query_is_cancelled_by_the_roles_timeout(databases: RunDatabases) -> None:
    with databases.database() as database, _connect(database) as connection:
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            connection.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - started < 10


def test_a_lock_wait_ends_with_the_lock_timeout(databases: RunDatabases) -> None:
    with databases.database() as database, _connect(database) as first, _connect(database) as second:
        first.execute("CREATE TABLE counter (id int PRIMARY KEY, value int)")
        first.execute("INSERT INTO counter VALUES (1, 0)")
        first.execute("BEGIN")
        first.execute("SELECT * FROM counter WHERE id = 1 FOR UPDATE")
        with pytest.raises(psycopg.errors.LockNotAvailable, match="lock timeout"):
            second.execute("SELECT * FROM counter WHERE id = 1 FOR UPDATE")
        first.execute("ROLLBACK")


def test_a_flood_of_connections_stops_at_the_roles_limit(databases: RunDatabases) -> None:
    with databases.database() as database:
        held = [_connect(database) for _ in range(3)]
        try:
            with pytest.raises(psycopg.OperationalError, match="too many connections"):
                _connect(database)
        finally:
            for connection in held:
                connection.close()


def test_a_spare_taken_is_replaced_after_the_run_not_while_it_runs(
    cluster: PostgresCluster, databases: RunDatabases
) -> None:
    # CREATE DATABASE copies the template: a hundred milliseconds of the server's work that
    # would compete with the run that just took its database.
    def ours() -> set[str]:
        with psycopg.connect(cluster.admin_conninfo("postgres"), autocommit=True) as admin:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"%{databases.owner:08x}%",)
            )
            return {str(row[0]) for row in rows.fetchall()}

    def until_spares_ready() -> None:
        deadline = time.monotonic() + 30
        while (len(databases._ready) < databases.spare or databases._filling) and time.monotonic() < deadline:
            time.sleep(0.05)

    databases.release(databases.acquire())
    until_spares_ready()
    before = ours()
    database = databases.acquire()
    time.sleep(0.5)
    assert ours() == before and not databases._filling, "nothing is made while the run holds its database"
    databases.release(database)
    until_spares_ready()
    after = ours()
    assert database.name not in after and len(after) == databases.spare


def test_in_the_private_cluster_a_run_logs_in_with_md5_and_the_superuser_with_scram(
    cluster: PostgresCluster, databases: RunDatabases
) -> None:
    # SCRAM's 4,096 PBKDF2 rounds on both ends cost each of a run's connections about 5 ms; a
    # run's random, short-lived password travels only over the local socket.
    with databases.database() as database:
        with psycopg.connect(cluster.admin_conninfo("postgres"), autocommit=True) as admin:
            rows = admin.execute(
                "SELECT rolname, left(rolpassword, 6) FROM pg_authid WHERE rolname IN (%s, %s)",
                (database.role, "sqlecho"),
            ).fetchall()
            methods = admin.execute(
                "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'local'"
                " AND 'all' = ANY(database) AND 'all' = ANY(user_name)"
            ).fetchall()
        with _connect(database) as run:
            assert run.execute("SELECT current_user").fetchone() == (database.role,)
    stored = dict(rows)
    assert stored[database.role].startswith("md5") and stored["sqlecho"] == "SCRAM-"
    assert methods == [("md5",)]


def test_a_cluster_made_for_scram_is_moved_to_md5_for_local_logins(tmp_path: Path) -> None:
    made = PostgresCluster.__new__(PostgresCluster)
    made.data = tmp_path
    (tmp_path / "pg_hba.conf").write_text(
        "local   all             all                                     scram-sha-256\n"
        "local   replication     all                                     scram-sha-256\n"
        "host    all             all             127.0.0.1/32            reject\n"
    )
    assert made._local_md5() is True
    assert (tmp_path / "pg_hba.conf").read_text().splitlines()[:2] == [
        "local   all             all                                     md5",
        "local   replication     all                                     scram-sha-256",
    ]
    assert made._local_md5() is False, "once moved, the file is left alone"


def test_a_spare_database_is_ready_without_waiting(databases: RunDatabases) -> None:
    databases.release(databases.acquire())  # starts the background fill
    deadline = time.monotonic() + 30
    while not databases._ready and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    database = databases.acquire()
    waited = time.monotonic() - started
    databases.release(database)
    assert waited < 0.05


def test_stale_run_databases_are_dropped_when_a_server_starts_again(cluster: PostgresCluster) -> None:
    killed = RunDatabases(
        connector(cluster.admin_conninfo), str(cluster.socket_dir), spare=0, prefix="sqlecho_old"
    )
    left = killed.acquire()  # never released: its server "was killed" (its presence ends below)
    alive = RunDatabases(
        connector(cluster.admin_conninfo), str(cluster.socket_dir), spare=0, prefix="sqlecho_old"
    )
    living = alive.acquire()  # a second server sharing PostgreSQL, still running
    killed._presence.close()  # type: ignore[union-attr]
    fresh = RunDatabases(
        connector(cluster.admin_conninfo), str(cluster.socket_dir), spare=0, prefix="sqlecho_old"
    )
    fresh.prepare()
    with psycopg.connect(cluster.admin_conninfo(), autocommit=True) as admin:
        names = {row[0] for row in admin.execute("SELECT datname FROM pg_database").fetchall()}
        roles = {row[0] for row in admin.execute("SELECT rolname FROM pg_roles").fetchall()}
    assert left.name not in names and left.role not in roles
    assert living.name in names and living.role in roles, "a live server's run was swept"
    with _connect(living) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
    alive.release(living)
    for databases in (alive, fresh):
        databases.close()


def test_a_runs_url_reaches_its_database_through_sqlalchemy(databases: RunDatabases) -> None:
    from sqlalchemy import create_engine, text

    with databases.database() as database:
        engine = create_engine(database.url())
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT current_database()")).scalar() == database.name
        finally:
            engine.dispose()


def test_an_existing_server_is_named_by_a_url() -> None:
    conninfo, socket_dir, host, port = from_url("postgresql://teacher:s%3Acret@/school?host=/run/postgresql")
    assert (socket_dir, host, port) == ("/run/postgresql", None, None)
    assert conninfo("x") == "host='/run/postgresql' user='teacher' password='s:cret' dbname='x'"
    conninfo, socket_dir, host, port = from_url("postgresql+psycopg://u:p@db.internal:6543/school")
    assert (socket_dir, host, port) == ("", "db.internal", 6543)
    with pytest.raises(PostgresUnavailable, match="must be a postgresql:// URL"):
        from_url("mysql://u@h/db")


def test_missing_binaries_are_named_with_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match="install Debian's 'postgresql' package"):
        find_binaries({"SQLECHO_POSTGRES_BIN": str(tmp_path)}, debian=tmp_path / "none", pg_config=None)


def test_the_newest_debian_version_wins_unless_a_folder_is_named(tmp_path: Path) -> None:
    for version in ("9.6", "15", "13"):
        folder = tmp_path / "debian" / version / "bin"
        folder.mkdir(parents=True)
        for name in ("initdb", "pg_ctl", "postgres"):
            (folder / name).touch()
    found = find_binaries({}, debian=tmp_path / "debian", pg_config=None)
    assert found == tmp_path / "debian" / "15" / "bin"
    named = find_binaries(
        {"SQLECHO_POSTGRES_BIN": str(tmp_path / "debian" / "9.6" / "bin")}, debian=tmp_path / "debian"
    )
    assert named == tmp_path / "debian" / "9.6" / "bin"


# -- the one place that gives a run its database (sqlecho._sandbox.databases) -------------------


def test_a_run_on_postgresql_gets_a_database_that_is_dropped_after(
    cluster: PostgresCluster, databases: RunDatabases
) -> None:
    from sqlecho._sandbox.databases import on_database
    from sqlecho._trace.options import TraceOptions

    with on_database(TraceOptions(database="postgresql"), lambda: databases) as options:
        assert options.database_url is not None and options.database_url.startswith("postgresql+psycopg://")
        assert options.database_version.split(".")[0].isdigit()
        name = options.database_url.split("?")[0].rsplit("/", 1)[-1]
        with psycopg.connect(cluster.admin_conninfo(), autocommit=True) as admin:
            assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    databases.settle()  # dropped in the background, after the run
    with psycopg.connect(cluster.admin_conninfo(), autocommit=True) as admin:
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None


def test_a_run_on_sqlite_or_already_given_a_database_is_left_as_it_is() -> None:
    from sqlecho._sandbox.databases import on_database
    from sqlecho._trace.options import TraceOptions

    def never() -> RunDatabases:
        raise AssertionError("no server is asked for")

    for options in (
        TraceOptions(),
        TraceOptions(database="postgresql", database_url="postgresql+psycopg://x@/y"),
    ):
        with on_database(options, never) as given:
            assert given is options


def test_an_unreachable_server_is_one_line_in_the_transcript(tmp_path: Path) -> None:
    from sqlecho._sandbox.databases import DatabaseUnavailable, with_database
    from sqlecho._sandbox.postgres import connector as connect_to
    from sqlecho._trace.options import TraceOptions

    unreachable = RunDatabases(connect_to(lambda db: f"host={tmp_path} dbname={db} user=x"), str(tmp_path))

    def runner(*args: object, **keywords: object) -> dict[str, object]:
        raise AssertionError("a run without its database never starts")

    run = with_database(runner, databases=lambda: unreachable)
    transcript = run("x = 1\n", tmp_path / "p.py", TraceOptions(database="postgresql"), "p.py")
    refusing = with_database(runner, refuse=True, databases=lambda: unreachable)
    with pytest.raises(DatabaseUnavailable, match="PostgreSQL could not be reached"):
        refusing("x = 1\n", tmp_path / "p.py", TraceOptions(database="postgresql"), "p.py")
    error = transcript["steps"][-1]["error"]  # type: ignore[index]
    assert transcript["status"] == "error" and error["type"] == "DatabaseUnavailable"
    assert "\n" not in error["message"] and error["message"].startswith("PostgreSQL could not be reached")
    assert transcript["database"] == {"name": "postgresql", "version": ""}


def test_unavailable_says_why_without_starting_anything(tmp_path: Path) -> None:
    from sqlecho._sandbox.databases import unavailable

    assert unavailable({"SQLECHO_POSTGRES_URL": "postgresql://u:p@/postgres?host=/nowhere"}) is None

    def none_here(environ: object) -> Path:
        raise PostgresUnavailable("not here")

    reason = unavailable({}, binaries=none_here)
    assert reason is not None and "install Debian's 'postgresql' package" in reason
    assert unavailable({}) is None  # Debian's server is installed here


# -- the server's own log as a second witness (check --db postgresql) -------------------------

WITNESSED = """
from sqlmodel import Field, Session, SQLModel, create_engine, select

class Book(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str

engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
with Session(engine) as session:
    session.add_all([Book(title="Dune"), Book(title="Orbit")])
    session.commit()
    print(len(session.exec(select(Book)).all()))
"""


@pytest.fixture(scope="module")
def witnessed_databases(cluster: PostgresCluster) -> Iterator[RunDatabases]:
    made = RunDatabases(
        connector(cluster.admin_conninfo),
        str(cluster.socket_dir),
        spare=0,
        private=True,
        log_file=cluster.log_file,
    )
    try:
        yield made
    finally:
        made.close()


def test_the_servers_log_confirms_an_honest_transcript(
    tmp_path: Path, witnessed_databases: RunDatabases
) -> None:
    from sqlecho._sandbox.databases import with_database
    from sqlecho._trace.options import TraceOptions, trace_here

    run = with_database(trace_here, witness=True, databases=lambda: witnessed_databases)
    transcript = run(WITNESSED, tmp_path / "books.py", TraceOptions(database="postgresql"), "books.py")
    assert transcript["status"] == "ok"
    assert "tampered" not in transcript


def test_a_statement_the_server_never_received_is_reported_as_tampering(
    tmp_path: Path, witnessed_databases: RunDatabases
) -> None:
    from sqlecho._grade import exercises_of, grade
    from sqlecho._sandbox.databases import with_database
    from sqlecho._trace.options import TraceOptions, trace_here

    def forged(source: str, path: Path, options: TraceOptions, name: str, **_: object) -> dict[str, object]:
        # What a program that rewrote the in-process recorder could make it say.
        transcript = trace_here(source, path, options, name)
        event = {
            "kind": "sql",
            "line": 12,
            "statement": "DELETE FROM book WHERE book.id = %(id)s::INTEGER",
            "parameters": {"id": 1},
            "executemany": False,
            "cause": "flush",
        }
        transcript["steps"][-1]["events"].append(event)  # type: ignore[index]
        return transcript

    run = with_database(forged, witness=True, databases=lambda: witnessed_databases)
    source = WITNESSED + '\n# %% Delete tags=["exercise"] check="delete == 1"\nprint("done")\n'
    transcript = run(source, tmp_path / "books.py", TraceOptions(database="postgresql"), "books.py")
    reason = transcript["tampered"]["reason"]  # type: ignore[index]
    assert reason.startswith("shows 1 statement that the PostgreSQL server never received")
    assert "DELETE FROM book WHERE book.id = ?" in reason
    report = grade(exercises_of(source, "books.py"), dict(transcript), file="books.py", source=source)
    assert not report.passed and "tampered" in report.text()


def test_a_server_whose_log_cannot_be_read_has_no_witness(databases: RunDatabases) -> None:
    with databases.database() as database:
        assert databases.witness(database) is None  # SQLECHO_POSTGRES_URL's server: not ours to read


def test_pg_config_is_asked_only_when_no_folder_before_it_has_the_programs(tmp_path: Path) -> None:
    # The app asks on every page run whether PostgreSQL can be had: a process per step is not
    # a price a reader should pay when Debian's folder already answers.
    folder = tmp_path / "debian" / "15" / "bin"
    folder.mkdir(parents=True)
    for name in ("initdb", "pg_ctl", "postgres"):
        (folder / name).touch()
    asked = tmp_path / "asked"
    pg_config = tmp_path / "pg_config"
    pg_config.write_text(f"#!/bin/sh\ntouch {asked}\necho {tmp_path}/elsewhere\n")
    pg_config.chmod(0o755)
    assert find_binaries({}, debian=tmp_path / "debian", pg_config=str(pg_config)) == folder
    assert not asked.exists()
    with pytest.raises(PostgresUnavailable):
        find_binaries({}, debian=tmp_path / "none", pg_config=str(pg_config))
    assert asked.exists()
