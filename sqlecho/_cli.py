"""``python -m sqlecho trace FILE [--json] [--no-expire-on-commit] [--no-autoflush]`` and
``python -m sqlecho export PATH... -o OUT [--switches] [--db postgresql]``, and
``python -m sqlecho check FILE [--against LESSON] [--json] [--junit-xml PATH]``.

Exit status: 0 when the program ran to its end (``check``: and every exercise passed), 1 when it
raised, exited with an error or hit a limit (the transcript is printed all the same), or a check
failed; 2 for a usage problem, a malformed check or a file without exercises (one line on stderr).

Each command is one function that imports what it needs inside it: the parent process only
starts a sandboxed worker and prints what comes back, so it never loads SQLAlchemy's ORM (the
worker does). Only ``--in-process`` (or an injected runner) brings the tracer into this process.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from ._trace.options import Runner, TraceOptions

__all__ = ["main", "read_program"]

_C1 = re.compile(r"[\x7f-\x9f\ud800-\udfff]")


class UsageError(Exception):
    """A problem with how sqlecho was called: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    from ._trace.options import DATABASES, SWITCHES

    parser = _Parser(prog="python -m sqlecho", description="Trace the SQL of a SQLModel/SQLAlchemy program.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    trace = commands.add_parser("trace", help="run FILE step by step and print its transcript")
    trace.add_argument("file", metavar="FILE", help="a Python file: a # %% lesson or any script")
    trace.add_argument("--json", action="store_true", help="print the transcript as one JSON document")
    for switch in SWITCHES:
        trace.add_argument(switch.flag, action="store_true", help=switch.help)
    trace.add_argument(
        "--in-process",
        action="store_true",
        help="run in this process, without the sandbox (trusted code only; for debugging)",
    )
    _database_option(trace)
    compare = trace.add_mutually_exclusive_group()
    compare.add_argument(
        "--compare",
        metavar="EDITED",
        help="also run EDITED (FILE with some code changed) and print what it did differently, step by step",
    )
    compare.add_argument(
        "--compare-db",
        action="store_true",
        help="run FILE on SQLite and on PostgreSQL and print what PostgreSQL did differently, step by step",
    )
    export = commands.add_parser("export", help="write lessons as a static site of self-contained pages")
    export.add_argument("paths", metavar="PATH", nargs="+", help="lesson files or folders of lessons")
    export.add_argument("-o", "--output", metavar="OUT", required=True, help="the site's folder")
    export.add_argument(
        "--switches",
        action="store_true",
        help=f"also embed the {' and '.join(f'{s.name}=False' for s in SWITCHES)} runs, compared step by step",
    )
    export.add_argument(
        "--db",
        choices=DATABASES[1:],
        action="append",
        default=[],
        help="also embed each lesson's run on this database, compared step by step with SQLite",
    )
    export.add_argument(
        "--in-process",
        action="store_true",
        help="run in this process, without the sandbox (trusted code only; for debugging)",
    )
    check = commands.add_parser("check", help="run FILE and evaluate the checks of its exercise cells")
    check.add_argument("file", metavar="FILE", help="a lesson in # %% cell format with exercise cells")
    check.add_argument(
        "--against",
        metavar="LESSON",
        help="take the checks from LESSON (matched by cell title) and only the code from FILE",
    )
    check.add_argument("--json", action="store_true", help="print the result as one JSON document")
    check.add_argument("--junit-xml", metavar="PATH", help="also write the result as JUnit XML to PATH")
    check.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    _database_option(check)
    return parser


def _database_option(command: argparse.ArgumentParser) -> None:
    from ._trace.options import DATABASES

    command.add_argument(
        "--db",
        choices=DATABASES,
        default="sqlite",
        help="the database the program's SQLite engines use: sqlite as written (the default), or a "
        "fresh PostgreSQL database (Debian's server, started on first use, or SQLECHO_POSTGRES_URL)",
    )


def _on_database(runner: Runner, *, witness: bool = False) -> Runner:
    """``runner`` given the database its options name (:func:`sqlecho._sandbox.databases.on_database`,
    the app's way too); one that cannot be had is a usage error in one line. ``witness``: the
    server's own log counts the run's statements too (``check``)."""
    from ._sandbox.databases import with_database

    run = with_database(runner, refuse=True, witness=witness)

    def traced(source: str, path: Path, options: TraceOptions, name: str) -> dict[str, object]:
        from ._sandbox.databases import DatabaseUnavailable

        try:
            return run(source, path, options, name)
        except DatabaseUnavailable as exc:
            raise UsageError(f"--db {options.database}: {exc}") from None

    return traced


def read_program(path: Path) -> str:
    """The program text of ``path``, or :class:`UsageError` saying in one line why there is none
    (see :func:`sqlecho._files.read_program`: a regular file of bounded size, no link to
    another user's file)."""
    from . import _files

    try:
        return _files.read_program(path)
    except _files.FileRefused as exc:
        raise UsageError(str(exc)) from None


def _say(message: str) -> None:
    """One line on stderr, with what strangers wrote in it (file names, lesson titles, error
    messages) unable to drive the terminal: control characters are shown, not sent."""
    from ._render.plain import terminal_line

    print(terminal_line(message), file=sys.stderr)


def _write_json(document: object) -> None:
    import json

    # JSON escapes C0 controls but not DEL and C1 (U+0080-U+009F, e.g. U+009B, a one-character
    # CSI for some terminals), nor a lone surrogate (a program may print one; UTF-8 cannot
    # encode it); they only occur inside strings, where \u escapes mean the same.
    text = json.dumps(document, ensure_ascii=False)
    sys.stdout.write(_C1.sub(lambda match: f"\\u{ord(match[0]):04x}", text) + "\n")


def _default_runner(in_process: bool) -> Runner:
    """The tracer in this process (``--in-process``: loads the ORM here), else a sandboxed worker."""
    if in_process:
        from ._trace.options import trace_here

        return trace_here
    from ._sandbox.runner import run_sandboxed

    return run_sandboxed


def _trace(args: argparse.Namespace, runner: Runner | None) -> int:
    """``trace``: print FILE's transcript; 0 when the program ran to its end."""
    from ._trace.options import SWITCHES, switched_off

    path = Path(args.file)
    source = read_program(path)
    # --no-expire-on-commit is stored as no_expire_on_commit.
    options = switched_off(s.name for s in SWITCHES if getattr(args, "no_" + s.name))
    run = _on_database(runner or _default_runner(args.in_process))
    if args.compare is not None or args.compare_db:
        return _compare(args, path, source, options, run)
    transcript = run(source, path, dataclasses.replace(options, database=args.db), args.file)
    if args.json:
        _write_json(transcript)
    else:
        from ._render.text import format_transcript  # after the run: no part of its start

        sys.stdout.write(format_transcript(transcript, source) + "\n")
    sys.stdout.flush()
    return 0 if transcript.get("status") == "ok" else 1


def _compare(args: argparse.Namespace, path: Path, source: str, options: TraceOptions, runner: Runner) -> int:
    """``trace --compare EDITED`` / ``--compare-db``: 0 when both runs ran to their end."""
    from ._render.compare import format_comparison
    from ._render.diff import database_label, diff_transcripts

    if args.compare_db:
        if args.db != "sqlite":
            raise UsageError("--compare-db runs both databases: leave out --db")
        first = runner(source, path, options, args.file)
        second = runner(source, path, dataclasses.replace(options, database="postgresql"), args.file)
        database = second.get("database")
        version = database.get("version", "") if isinstance(database, dict) else ""
        names = (
            f"{args.file} on {database_label(first)}",
            f"the same program on {database_label(second)} {version}".rstrip(),
        )
        diff = diff_transcripts(first, second)
    else:
        edited = read_program(Path(args.compare))
        options = dataclasses.replace(options, database=args.db)
        first = runner(source, path, options, args.file)
        # The edited copy runs as if it were FILE: same folder, same name in the transcript.
        second = runner(edited, path, options, args.file)
        names = (args.file, args.compare)
        diff = diff_transcripts(first, second, label="the edited code", edited=True)
    if args.json:
        differences = [
            {
                "a_step": pair.a_index,
                "b_step": pair.b_index,
                "notes": list(pair.notes),
                "only_a": list(pair.only_a),
                "only_b": list(pair.only_b),
            }
            for pair in diff.steps
            if not pair.same
        ]
        _write_json({"a": first, "b": second, "differences": differences})
    else:
        sys.stdout.write(format_comparison(diff, first, second, names) + "\n")
    sys.stdout.flush()
    return 0 if first.get("status") == "ok" and second.get("status") == "ok" else 1


def _check(args: argparse.Namespace, runner: Runner | None) -> int:
    """``check``: grade FILE's exercises (or LESSON's, against FILE's code); the exit status."""
    from ._grade import MalformedCheck, exercises_of, grade, junit_xml
    from ._render.plain import terminal_safe
    from ._trace.options import TraceOptions

    path = Path(args.file)
    source = read_program(path)
    checks_from, checks_name = source, args.file
    if args.against is not None:
        checks_from, checks_name = read_program(Path(args.against)), args.against
    try:
        exercises = exercises_of(checks_from, checks_name)
    except MalformedCheck as exc:
        raise UsageError(str(exc)) from None
    if not exercises:
        raise UsageError(f'{checks_name} has no exercise cells (# %% Title tags=["exercise"] check="...")')
    # On PostgreSQL the server's own log is a second witness of what the program sent.
    run = _on_database(runner or _default_runner(args.in_process), witness=True)
    transcript = run(source, path, TraceOptions(database=args.db), args.file)
    report = grade(exercises, dict(transcript), file=args.file, against=args.against, source=source)
    if args.junit_xml:
        from . import _files

        try:
            _files.write_file(Path(args.junit_xml), junit_xml(report).encode("utf-8"))
        except _files.FileRefused as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        _write_json(report.as_json())
    else:
        sys.stdout.write(terminal_safe(report.text()) + "\n")
    sys.stdout.flush()
    return 0 if report.passed else 1


def _export(args: argparse.Namespace, runner: Runner | None) -> int:
    """``export``: 0 when every lesson ran to its end, 1 when one did not (its page is written)."""
    from ._files import FileRefused, SiteFolder
    from ._site import Page, lesson_files, write_site

    try:
        paths = lesson_files([Path(p) for p in args.paths])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    lessons = [(path, read_program(path)) for path in paths]
    try:
        folder = SiteFolder(Path(args.output))
    except FileRefused as exc:
        raise UsageError(str(exc)) from None

    def report(page: Page) -> None:
        problem = "" if page.ok else "  (the program stopped with an error)"
        _say(f"{page.path}  {page.bytes / 1024:.0f} KiB  {page.title}{problem}")

    databases = list(dict.fromkeys(args.db))
    try:
        if runner is not None or args.in_process:
            run = _on_database(runner or _default_runner(True))
            pages = write_site(
                lessons, folder, run, switches=args.switches, databases=databases, progress=report
            )
        else:
            from ._sandbox.pool import WorkerPool
            from ._sandbox.runner import run_sandboxed

            # Many traces in a row: warm workers wait for each next one, as the app's pool does
            # (shown the PostgreSQL server's socket when the site shows runs on it).
            with WorkerPool(2, sockets=_server_sockets(databases)) as pool:

                def pooled(source: str, path: Path, options: TraceOptions, name: str) -> dict[str, object]:
                    return run_sandboxed(source, path, options, name, pool=pool)

                run = _on_database(pooled)
                pages = write_site(
                    lessons, folder, run, switches=args.switches, databases=databases, progress=report
                )
    except FileRefused as exc:
        raise UsageError(str(exc)) from None
    finally:
        folder.close()
    _say(f"{folder.path / 'index.html'}  {len(pages)} lesson{'s' * (len(pages) != 1)}")
    return 0 if all(page.ok for page in pages) else 1


def _server_sockets(databases: Sequence[str]) -> tuple[Path, ...]:
    """The folder of the PostgreSQL server's socket when runs will use it (the server is
    started now), for warm workers to be shown; () otherwise."""
    if "postgresql" not in databases:
        return ()
    from ._sandbox.postgres import PostgresUnavailable, default_databases

    try:
        socket_dir = default_databases().socket_dir
    except PostgresUnavailable as exc:
        raise UsageError(f"--db postgresql: {exc}") from None
    except Exception:  # the server cannot be reached: each run says so
        return ()
    return (Path(socket_dir),) if socket_dir.startswith("/") else ()


_COMMANDS: dict[str, Callable[[argparse.Namespace, Runner | None], int]] = {
    "trace": _trace,
    "check": _check,
    "export": _export,
}


def main(argv: Sequence[str] | None = None, runner: Runner | None = None) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).
        runner: runs one trace; default: in a sandboxed worker process.
    """
    try:
        args = _parser().parse_args(argv)
        return _COMMANDS[args.command](args, runner)
    except UsageError as exc:
        _say(f"sqlecho: {exc}")
        return 2
