"""``python -m sqlecho trace FILE [--json] [--no-expire-on-commit] [--no-autoflush]`` and
``python -m sqlecho export PATH... -o OUT [--switches]``, and
``python -m sqlecho check FILE [--against LESSON] [--json] [--junit-xml PATH]``.

Exit status: 0 when the program ran to its end (``check``: and every exercise passed), 1 when it
raised, exited with an error or hit a limit (the transcript is printed all the same), or a check
failed; 2 for a usage problem, a malformed check or a file without exercises (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._grade import MalformedCheck, exercises_of, grade, junit_xml
from ._render.plain import terminal_safe
from ._render.text import format_transcript
from ._sandbox.pool import WorkerPool
from ._sandbox.runner import run_sandboxed
from ._site import Page, lesson_files, write_site
from ._trace.options import Runner, TraceOptions
from ._trace.tracer import in_process

__all__ = ["main", "read_program"]

_C1 = re.compile(r"[\x7f-\x9f\ud800-\udfff]")


class UsageError(Exception):
    """A problem with how sqlecho was called: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sqlecho", description="Trace the SQL of a SQLModel/SQLAlchemy program.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    trace = commands.add_parser("trace", help="run FILE step by step and print its transcript")
    trace.add_argument("file", metavar="FILE", help="a Python file: a # %% lesson or any script")
    trace.add_argument("--json", action="store_true", help="print the transcript as one JSON document")
    trace.add_argument(
        "--no-expire-on-commit",
        action="store_true",
        help="run as if every Session had expire_on_commit=False",
    )
    trace.add_argument(
        "--no-autoflush", action="store_true", help="run as if every Session had autoflush=False"
    )
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
        help="also embed the expire_on_commit=False and autoflush=False runs, compared step by step",
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
    command.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the database the program's SQLite engines use: sqlite as written (the default), or a "
        "fresh PostgreSQL database (Debian's server, started on first use, or SQLECHO_POSTGRES_URL)",
    )


@contextlib.contextmanager
def _database(choice: str, options: TraceOptions) -> Iterator[TraceOptions]:
    """``options`` for a run on ``choice``: a PostgreSQL database of the run's own, dropped after."""
    if choice != "postgresql":
        yield options
        return
    from ._sandbox.postgres import PostgresUnavailable, default_databases

    try:
        databases = default_databases()
        database = databases.acquire()
        version = databases.version()
    except PostgresUnavailable as exc:
        raise UsageError(f"--db postgresql: {exc}") from None
    except Exception as exc:  # psycopg's errors: the server refused or could not be reached
        raise UsageError(f"--db postgresql: {_first_line(exc)}") from None
    try:
        yield dataclasses.replace(options, database_url=database.url(), database_version=version)
    finally:
        databases.release(database)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_program(path: Path) -> str:
    """The program text of ``path``, or :class:`UsageError` saying in one line why there is none."""
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a Python file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not Python source (not UTF-8 text)") from None
    if "\x00" in text:
        raise UsageError(f"{path} is not Python source (binary data)")
    if path.suffix not in (".py", ".pyw"):
        try:
            compile(text, str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            raise UsageError(f"{path} is not Python source") from None
    return text


def _write_json(document: object) -> None:
    # JSON escapes C0 controls but not DEL and C1 (U+0080-U+009F, e.g. U+009B, a one-character
    # CSI for some terminals), nor a lone surrogate (a program may print one; UTF-8 cannot
    # encode it); they only occur inside strings, where \u escapes mean the same.
    text = json.dumps(document, ensure_ascii=False)
    sys.stdout.write(_C1.sub(lambda match: f"\\u{ord(match[0]):04x}", text) + "\n")


def _check(args: argparse.Namespace, path: Path, source: str, runner: Runner | None) -> int:
    """``check``: grade FILE's exercises (or LESSON's, against FILE's code); the exit status."""
    checks_from, checks_name = source, args.file
    if args.against is not None:
        checks_from, checks_name = read_program(Path(args.against)), args.against
    try:
        exercises = exercises_of(checks_from, checks_name)
    except MalformedCheck as exc:
        raise UsageError(str(exc)) from None
    if not exercises:
        raise UsageError(f'{checks_name} has no exercise cells (# %% Title tags=["exercise"] check="...")')
    if runner is None:
        runner = in_process if args.in_process else run_sandboxed
    with _database(args.db, TraceOptions()) as options:
        transcript = runner(source, path, options, args.file)
    report = grade(exercises, dict(transcript), file=args.file, against=args.against)
    if args.junit_xml:
        try:
            Path(args.junit_xml).write_text(junit_xml(report), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.junit_xml}: {exc.strerror}") from None
    if args.json:
        _write_json(report.as_json())
    else:
        sys.stdout.write(terminal_safe(report.text()) + "\n")
    sys.stdout.flush()
    return 0 if report.passed else 1


def main(argv: Sequence[str] | None = None, runner: Runner | None = None) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).
        runner: runs one trace; default: in a sandboxed worker process.
    """
    try:
        args = _parser().parse_args(argv)
        if args.command == "export":
            return _export(args, runner)
        path = Path(args.file)
        source = read_program(path)
        if args.command == "check":
            return _check(args, path, source, runner)
        options = TraceOptions(
            expire_on_commit=False if args.no_expire_on_commit else None,
            autoflush=False if args.no_autoflush else None,
        )
        if runner is None:
            runner = in_process if args.in_process else run_sandboxed
        if args.compare is not None or args.compare_db:
            return _compare(args, path, source, options, runner)
        with _database(args.db, options) as options:
            transcript = runner(source, path, options, args.file)
    except UsageError as exc:
        print(f"sqlecho: {terminal_safe(str(exc))}", file=sys.stderr)
        return 2
    if args.json:
        _write_json(transcript)
    else:
        sys.stdout.write(format_transcript(transcript, source) + "\n")
    sys.stdout.flush()
    return 0 if transcript.get("status") == "ok" else 1


def _compare(args: argparse.Namespace, path: Path, source: str, options: TraceOptions, runner: Runner) -> int:
    """``trace --compare EDITED`` / ``--compare-db``: 0 when both runs ran to their end."""
    from ._render.compare import format_comparison
    from ._render.diff import diff_transcripts

    if args.compare_db:
        if args.db != "sqlite":
            raise UsageError("--compare-db runs both databases: leave out --db")
        first = runner(source, path, options, args.file)
        with _database("postgresql", options) as on_server:
            second = runner(source, path, on_server, args.file)
        version = (second.get("database") or {}).get("version", "")
        names = (
            f"{args.file} on {_db_name(first)}",
            f"the same program on {_db_name(second)} {version}".rstrip(),
        )
        diff = diff_transcripts(first, second)
    else:
        edited_path = Path(args.compare)
        edited = read_program(edited_path)
        with _database(args.db, options) as options:
            first = runner(source, path, options, args.file)
            # The edited copy runs as if it were FILE: same folder, same name in the transcript.
            second = runner(edited, path, options, args.file)
        names = (args.file, args.compare)
        diff = diff_transcripts(first, second, label="the edited code", edited=True)
    if args.json:
        _write_json({"a": first, "b": second, "differences": _diff_json(diff)})
    else:
        sys.stdout.write(format_comparison(diff, first, second, names) + "\n")
    sys.stdout.flush()
    return 0 if first.get("status") == "ok" and second.get("status") == "ok" else 1


def _db_name(transcript: dict[str, Any]) -> str:
    from ._render.diff import database_label

    return database_label(transcript)


def _diff_json(diff: Any) -> list[dict[str, Any]]:
    """The differences as data: one record per step pair where the runs differ."""
    return [
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


def _export(args: argparse.Namespace, runner: Runner | None) -> int:
    """``export``: 0 when every lesson ran to its end, 1 when one did not (its page is written)."""
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder")
    try:
        paths = lesson_files([Path(p) for p in args.paths])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    lessons = [(path, read_program(path)) for path in paths]

    def report(page: Page) -> None:
        problem = "" if page.ok else "  (the program stopped with an error)"
        print(f"{page.path}  {page.bytes / 1024:.0f} KiB  {page.title}{problem}", file=sys.stderr)

    if runner is not None or args.in_process:
        pages = write_site(lessons, out, runner or in_process, switches=args.switches, progress=report)
    else:
        # Many traces in a row: warm workers wait for each next one, as the app's pool does.
        with WorkerPool(2) as pool:

            def pooled(source: str, path: Path, options: TraceOptions, name: str, **_: Any) -> dict[str, Any]:
                return run_sandboxed(source, path, options, name, pool=pool)

            pages = write_site(lessons, out, pooled, switches=args.switches, progress=report)
    print(f"{out / 'index.html'}  {len(pages)} lesson{'s' * (len(pages) != 1)}", file=sys.stderr)
    return 0 if all(page.ok for page in pages) else 1
