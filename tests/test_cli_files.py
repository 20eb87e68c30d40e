"""The command line among files that others control: program files that are links, pipes or
devices, an output folder with planted links, and text that would drive the terminal.

Graders run ``check`` as root on students' repositories, so several tests matter most as root
(CI runs them as root); those that need a second user skip elsewhere.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sqlecho._cli import main
from sqlecho._trace.tracer import TraceOptions, trace_source
from sqlecho._transcript.limits import MAX_PROGRAM_BYTES

STUDENT = 12345
"""A user id other than the invoker's, for links and folders planted by a student."""

# Window title, clipboard (OSC 52) and clear-screen: what must reach the terminal as text.
HOSTILE = "\x1b]0;pwned\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x1b[3J"

LESSON = """\
# %% [markdown]
# # TITLE

# %% Count
print("hello")
"""


def in_process(source: str, path: Path, options: TraceOptions, name: str) -> dict[str, Any]:
    return trace_source(source, path, options, source_name=name)


def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (files of another user)")


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv, runner=in_process)
    out, err = capsys.readouterr()
    return code, out, err


def _no_escape_sent(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "\\x1b]52;c;" in text or "\\x1b" in text


# -- terminal escapes in every message ----------------------------------------------------------


def test_exports_progress_lines_show_hostile_titles_and_file_names_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    titled = tmp_path / "titled.py"
    titled.write_text(LESSON.replace("TITLE", HOSTILE))
    named = tmp_path / f"named{HOSTILE.replace('/', '')}.py"
    named.write_text("print('no heading')\n")
    code, _out, err = _cli(["export", str(titled), str(named), "-o", str(tmp_path / "site")], capsys)
    assert code == 0
    _no_escape_sent(err)
    assert "\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in err
    assert len(err.splitlines()) == 3  # two pages and the index: a title cannot add lines


@pytest.mark.parametrize(
    "argv",
    [
        ["trace", f"missing{HOSTILE}.py"],
        ["check", f"missing{HOSTILE}.py"],
        ["export", f"missing{HOSTILE}.py", "-o", "site"],
        ["trace", "x.py", f"--{HOSTILE}"],
        [f"{HOSTILE}"],
    ],
    ids=["trace", "check", "export", "option", "command"],
)
def test_every_error_message_shows_control_characters_as_text(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(argv, capsys)
    assert code == 2 and out == ""
    _no_escape_sent(err)
    assert len(err.splitlines()) == 1


def test_a_newline_in_a_file_name_cannot_fake_a_second_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _out, err = _cli(["trace", "a.py\nsqlecho: all good"], capsys)
    assert code == 2 and err.count("\n") == 1 and "a.py\\x0asqlecho: all good" in err


# -- the program file ---------------------------------------------------------------------------


def _planted_link(tmp_path: Path, target: str) -> Path:
    """A student's link to ``target`` (a file of root's): as root, the link is the student's."""
    link = tmp_path / "prog.py"
    link.symlink_to(target)
    if os.geteuid() == 0:
        os.lchown(link, STUDENT, STUDENT)
    return link


def _secret(tmp_path: Path) -> Path:
    """A file only its owner (root, or the invoker) may read."""
    secret = tmp_path / "secret"
    secret.write_text("print('SECRET-LINE')\n")
    secret.chmod(0o600)
    return secret


@pytest.mark.parametrize("command", ["trace", "check", "against", "export"])
def test_a_link_to_another_users_file_is_refused_in_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _root_only()
    link = _planted_link(tmp_path, str(_secret(tmp_path)))
    lesson = tmp_path / "lesson.py"
    lesson.write_text(LESSON)
    argv = {
        "trace": ["trace", str(link)],
        "check": ["check", str(link)],
        "against": ["check", str(lesson), "--against", str(link)],
        "export": ["export", str(link), "-o", str(tmp_path / "site")],
    }[command]
    code, out, err = _cli(argv, capsys)
    assert code == 2 and out == ""
    assert "SECRET-LINE" not in err and len(err.splitlines()) == 1
    assert "symbolic link" in err and "another user" in err


def test_a_link_to_ones_own_file_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "real.py"
    real.write_text("print('mine')\n")
    (tmp_path / "prog.py").symlink_to(real)
    code, out, _err = _cli(["trace", str(tmp_path / "prog.py")], capsys)
    assert code == 0 and "mine" in out


def _run_cli(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """The real command line, with 1 GiB of memory and 30 s: a read of /dev/zero or of a FIFO
    fails (or times out) instead of eating the machine or hanging the test run."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "sqlecho", *argv], capture_output=True, timeout=30, preexec_fn=limit
    )


def test_a_link_to_dev_zero_is_refused_not_read(tmp_path: Path) -> None:
    link = tmp_path / "prog.py"
    link.symlink_to("/dev/zero")
    done = _run_cli(["trace", str(link), "--in-process"])
    assert done.returncode == 2
    assert done.stderr.decode().startswith("sqlecho: ") and "not a regular file" in done.stderr.decode()


def test_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "prog.py"
    os.mkfifo(fifo)
    done = _run_cli(["check", str(fifo), "--in-process"])
    assert done.returncode == 2 and "not a regular file" in done.stderr.decode()


def test_a_program_larger_than_the_limit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" + "#" * MAX_PROGRAM_BYTES + "\n")
    code, _out, err = _cli(["trace", str(big)], capsys)
    assert code == 2 and "larger than a program may be" in err and len(err.splitlines()) == 1


# -- export -o ----------------------------------------------------------------------------------


def test_export_replaces_a_planted_link_instead_of_writing_through_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.conf"
    victim.write_text("important\n")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").symlink_to(victim)
    (site / "lesson.html").symlink_to(victim)
    lesson = tmp_path / "lesson.py"
    lesson.write_text(LESSON)
    code, _out, _err = _cli(["export", str(lesson), "-o", str(site)], capsys)
    assert code == 0
    assert victim.read_text() == "important\n"
    for name in ("index.html", "lesson.html"):
        assert not (site / name).is_symlink() and "<html" in (site / name).read_text()
    assert sorted(path.name for path in site.iterdir()) == ["index.html", "lesson.html"]  # no leftovers


def test_export_writes_only_into_a_folder_of_the_invoker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _root_only()
    lesson = tmp_path / "lesson.py"
    lesson.write_text(LESSON)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, STUDENT, STUDENT)
    code, _out, err = _cli(["export", str(lesson), "-o", str(theirs)], capsys)
    assert code == 2 and "belongs to another user" in err
    assert list(theirs.iterdir()) == []
    # A student's link to root's folder: not followed either.
    roots = tmp_path / "roots"
    roots.mkdir()
    link = tmp_path / "site"
    link.symlink_to(roots)
    os.lchown(link, STUDENT, STUDENT)
    code, _out, err = _cli(["export", str(lesson), "-o", str(link)], capsys)
    assert code == 2 and "symbolic link" in err
    assert list(roots.iterdir()) == []
    # A folder it makes is fine, parents included.
    code, _out, _err = _cli(["export", str(lesson), "-o", str(tmp_path / "new" / "site")], capsys)
    assert code == 0 and (tmp_path / "new" / "site" / "index.html").is_file()


# -- JUnit XML ----------------------------------------------------------------------------------

EXERCISE = """\
# %% Setup
x = 1

# %% Boom tags=["exercise"] check="select == 1; prints 'ok'"
print("\\x1b[2J\\x00\\x07\\x0c out")
raise ValueError("\\x00\\x1b]0;t\\x07\\ud800 bad")
"""


def test_junit_xml_stays_valid_whatever_the_student_printed_or_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "student.py"
    program.write_text(EXERCISE)
    report = tmp_path / "report.xml"
    code, _out, _err = _cli(["check", str(program), "--junit-xml", str(report)], capsys)
    assert code == 1
    suite = ET.parse(report).getroot().find("testsuite")  # raises if it is not XML
    assert suite is not None
    error = suite.find("testcase/error")
    assert error is not None and "\\x00\\x1b]0;t\\x07\\ud800 bad" in (error.get("message") or "")


def test_junit_xml_replaces_a_planted_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim.conf"
    victim.write_text("important\n")
    program = tmp_path / "student.py"
    program.write_text(EXERCISE)
    report = tmp_path / "report.xml"
    report.symlink_to(victim)
    _cli(["check", str(program), "--junit-xml", str(report)], capsys)
    assert victim.read_text() == "important\n" and not report.is_symlink()


# As the student: a new link renamed over prog.py, to their file, then to root's, and again.
LINK_SWAPPER = 'while :; do ln -s "$1" n && mv -T n prog.py; ln -s "$2" n && mv -T n prog.py; done'


def test_a_link_swapped_in_a_loop_never_reads_another_users_file() -> None:
    """The student flips ``prog.py`` between a link to their own file and one to root's, as
    fast as they can, while root reads it: root reads the student's file or refuses."""
    _root_only()
    import shutil
    import tempfile

    from sqlecho._files import FileRefused, read_program

    folder = Path(tempfile.mkdtemp(prefix="sqlecho-test-links-"))
    try:
        folder.chmod(0o755)
        os.chown(folder, STUDENT, STUDENT)
        decoy = folder / "mine.py"
        decoy.write_text("print('decoy')\n")
        os.chown(decoy, STUDENT, STUDENT)
        secret = folder / "roots.py"
        secret.write_text("print('SECRET-LINE')\n")
        secret.chmod(0o600)
        (folder / "prog.py").symlink_to(decoy)
        os.lchown(folder / "prog.py", STUDENT, STUDENT)
        argv = ["/bin/sh", "-c", LINK_SWAPPER, "swap", str(decoy), str(secret)]
        # A session of its own: the loop's `ln` and `mv` die with the shell, not after the cleanup.
        swapper = subprocess.Popen(argv, user=STUDENT, group=STUDENT, cwd=folder, start_new_session=True)
        outcomes = {"decoy": 0, "refused": 0, "other": 0}
        try:
            for _ in range(3_000):
                try:
                    text = read_program(folder / "prog.py")
                except FileRefused:
                    outcomes["refused"] += 1
                    continue
                assert "SECRET-LINE" not in text
                outcomes["decoy" if "decoy" in text else "other"] += 1
        finally:
            os.killpg(swapper.pid, signal.SIGKILL)
            swapper.wait()
        assert outcomes["decoy"] > 0 and outcomes["refused"] > 0, outcomes  # the race was run
    finally:
        shutil.rmtree(folder)
