"""Program folders set up by someone hostile to whoever runs sqlecho as root: names swapped
while the folder is copied, files only root may read, sockets, and a transcript that names a
host file.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sqlecho._sandbox.launch import _view_of
from sqlecho._sandbox.pool import WorkerPool
from sqlecho._sandbox.runner import run_sandboxed
from sqlecho._trace.options import TraceOptions

pytestmark = pytest.mark.sandbox


def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("only root copies a folder that the sandbox user cannot read")


def _outputs(transcript: dict[str, Any]) -> list[str]:
    return [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]


def _trace(program: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", str(program), "--json"],
        capture_output=True,
        cwd="/",
        timeout=120,
    )
    assert done.stderr == b"", done.stderr.decode()
    return done.returncode, json.loads(done.stdout)


# Swaps two names in one step (renameat2 RENAME_EXCHANGE), in a loop, as an attacker does: a
# process of its own, so that it runs while the copy runs (not in turns, as threads would).
SWAPPER = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
while True:
    libc.renameat2(-100, a, -100, b, 2)
"""


def test_a_name_swapped_during_the_copy_never_shows_a_root_only_file(tmp_path: Path) -> None:
    """The folder's owner swaps a readable decoy with a file only root may read, in a loop,
    while root copies the folder: no copy ever holds the root-only text."""
    _root_only()
    folder = tmp_path / "student"
    folder.mkdir(mode=0o700)
    os.chown(folder, 12345, 12345)
    decoy = folder / "data.txt"
    decoy.write_text("a decoy!!\n")  # as long as the secret: a copy is cut at the size seen
    decoy.chmod(0o644)
    secret = folder / "other.txt"
    secret.write_text("ROOT-ONLY\n")
    secret.chmod(0o600)  # root's
    stage = tmp_path / "stage"
    stage.mkdir(mode=0o700)
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(decoy), str(secret)])
    leaked = copied = 0
    try:
        for _ in range(400):
            copy = _view_of(folder, stage)
            texts = [path.read_text() for path in copy.iterdir()]
            copied += len(texts)
            leaked += sum("ROOT-ONLY" in text for text in texts)
    finally:
        swapper.kill()
        swapper.wait()
    assert copied > 0  # the decoy was copied now and then: the race was run
    assert leaked == 0


@pytest.mark.parametrize("mode", [0o700, 0o755], ids=["folder-700", "folder-755"])
def test_files_only_root_may_read_stay_hidden_from_the_program(tmp_path: Path, bwrap: str, mode: int) -> None:
    """A root-owned app folder: its 600 files (grades, secrets) are not the program's to read,
    but the program itself (600 too) runs and can read its own text."""
    _root_only()
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text("password = 'hunter2'\n")
    (folder / "grades.csv").write_text("alice,A\n")
    (folder / "public.txt").write_text("anyone\n")
    program = folder / "prog.py"
    program.write_text(
        "import os\n"
        "for name in ('grades.csv', '.streamlit/secrets.toml', 'public.txt', 'prog.py'):\n"
        "    try:\n"
        "        print(name, open(name).read().splitlines()[0])\n"
        "    except OSError as exc:\n"
        "        print(name, type(exc).__name__)\n"
    )
    for path in (folder / ".streamlit" / "secrets.toml", folder / "grades.csv", program):
        path.chmod(0o600)
    (folder / "public.txt").chmod(0o644)
    folder.chmod(mode)
    code, transcript = _trace(program)
    assert code == 0, transcript["steps"][-1]["error"]
    assert _outputs(transcript)[:3] == [
        "grades.csv PermissionError\n" if mode == 0o755 else "grades.csv FileNotFoundError\n",
        ".streamlit/secrets.toml PermissionError\n"
        if mode == 0o755
        else ".streamlit/secrets.toml FileNotFoundError\n",
        "public.txt anyone\n",
    ]
    last = _outputs(transcript)[3]
    # In a 755 folder a 600 program is not the sandbox user's to read (it ran from its text);
    # in a copy it is there, written from the text its invoker read.
    assert last == ("prog.py PermissionError\n" if mode == 0o755 else "prog.py import os\n")


@pytest.mark.parametrize("mode", [0o700, 0o755], ids=["folder-700", "folder-755"])
def test_a_host_socket_in_the_programs_folder_cannot_be_reached(
    tmp_path: Path, bwrap: str, mode: int
) -> None:
    """A unix socket of the host that anyone may connect to, in the program's folder: a copy
    (700) has none, and in a folder shown as it is (755) it is covered by /dev/null."""
    if mode == 0o700:
        _root_only()
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "deeper").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "deeper" / "host.sock"))
    os.chmod(folder / "deeper" / "host.sock", 0o777)
    server.listen()
    folder.chmod(mode)
    try:
        program = folder / "prog.py"
        program.write_text(
            "import socket\ns = socket.socket(socket.AF_UNIX)\n"
            "try:\n    s.connect('deeper/host.sock'); print('connected')\n"
            "except OSError as exc:\n    print(type(exc).__name__)\n"
        )
        program.chmod(0o644)
        code, transcript = _trace(program)
    finally:
        server.close()
    assert code == 0, transcript["steps"][-1]["error"]
    assert _outputs(transcript) == ["FileNotFoundError\n" if mode == 0o700 else "ConnectionRefusedError\n"]


FORGED_SOURCE = """\
import gc, json, os
channel = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
real = channel.send

def send(message):
    if "done" in message:
        message = {"done": {**message["done"], "source": "/etc/shadow"}}
    real(message)

channel.send = send
print("hello")
"""


def test_a_transcript_names_the_file_the_parent_ran_whatever_the_program_says(
    tmp_path: Path, bwrap: str
) -> None:
    program = tmp_path / "forge.py"
    program.write_text(FORGED_SOURCE)
    transcript = run_sandboxed(FORGED_SOURCE, program, TraceOptions(), "forge.py")
    assert _outputs(transcript) == ["hello\n"]
    assert transcript["source"] == "forge.py"


def test_show_of_a_transcript_opens_no_file_it_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever a transcript's ``source`` says, show() renders what it is given, never a host file."""
    from sqlecho._notebook.viewer import show
    from sqlecho._trace.tracer import trace_source

    secret = tmp_path / "shadow"
    secret.write_text("root:SECRET-HASH:19000:0:99999:7:::\n")
    transcript = trace_source("x = 1\n", tmp_path / "p.py")
    transcript["source"] = str(secret)  # as a program could write it, or anyone who sent it
    show(transcript)
    assert "SECRET-HASH" not in capsys.readouterr().out
    show(transcript, source="x = 1\n")
    shown = capsys.readouterr().out
    assert "SECRET-HASH" not in shown and "x = 1" in shown


KILLED_SERVER = """
import sys
from pathlib import Path
from sqlecho._sandbox.runner import run_sandboxed
from sqlecho._trace.options import TraceOptions
program = Path(sys.argv[1])
run_sandboxed(program.read_text(), program, TraceOptions(), "sleep.py")
"""


def _leftovers(pid: int, places: list[Path]) -> list[Path]:
    return [path for place in places for path in place.glob(f"sqlecho-*-{pid}-*")]


@pytest.mark.usefixtures("run_cgroup")
def test_a_server_killed_outright_leaves_nothing_after_the_next_start(tmp_path: Path, bwrap: str) -> None:
    """SIGKILL leaves a run's control group and its copy of a 700 folder; the next start
    removes them (and nothing of a server still running: this one's own are kept)."""
    _root_only()
    import tempfile
    import time

    from sqlecho._sandbox.cgroup import cgroup_support

    support = cgroup_support()
    places = [Path(tempfile.gettempdir()), *{p for p in (support.memory, support.pids) if p is not None}]
    folder = tmp_path / "app"
    folder.mkdir(mode=0o700)
    (folder / "sleep.py").write_text("import time\ntime.sleep(120)\n")
    server = subprocess.Popen([sys.executable, "-c", KILLED_SERVER, str(folder / "sleep.py")])
    try:
        deadline = time.monotonic() + 60
        kinds: set[str] = set()
        while kinds != {"view", "run"} and time.monotonic() < deadline:
            time.sleep(0.1)
            left = _leftovers(server.pid, places)
            kinds = {path.name.split("-")[1] for path in left}
        assert any(p.name.startswith("sqlecho-view-") for p in left), left
        assert any(p.name.startswith("sqlecho-run-") for p in left), left
    finally:
        server.kill()
        server.wait()
    alive = Path(tempfile.mkdtemp(prefix=f"sqlecho-view-{os.getpid()}-"))  # a live server's
    try:
        program = tmp_path / "next.py"
        program.write_text("print('next')\n")
        code, transcript = _trace(program)  # the next start
        assert code == 0 and _outputs(transcript) == ["next\n"]
        assert _leftovers(server.pid, places) == []
        assert alive.exists()
    finally:
        alive.rmdir()


def test_the_sweep_removes_only_folders_of_gone_processes_and_follows_no_link(tmp_path: Path) -> None:
    from sqlecho._sandbox.cgroup import CgroupSupport
    from sqlecho._sandbox.stale import sweep_stale

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead = int(gone.stdout)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("keep")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    (temporary / f"sqlecho-view-{dead}-abc").mkdir()
    (temporary / f"sqlecho-worker-{dead}-abc").mkdir()
    (temporary / f"sqlecho-view-{dead}-link").symlink_to(victim)
    (temporary / f"sqlecho-view-{os.getpid()}-abc").mkdir()
    (temporary / "sqlecho-view-abc").mkdir()  # no process id: not ours to judge
    removed = sweep_stale(CgroupSupport(0, why="none"), temporary)
    assert sorted(removed) == [f"sqlecho-view-{dead}-abc", f"sqlecho-worker-{dead}-abc"]
    assert {p.name for p in temporary.iterdir()} == {
        f"sqlecho-view-{dead}-link",
        f"sqlecho-view-{os.getpid()}-abc",
        "sqlecho-view-abc",
    }
    assert (victim / "keep").read_text() == "keep"


@pytest.mark.parametrize("pooled", [False, True], ids=["worker", "pool"])
def test_a_folder_swapped_for_a_link_before_bubblewrap_binds_it_never_shows_the_links_target(
    tmp_path: Path, bwrap: str, pooled: bool
) -> None:
    """A student's 755 folder, swapped in a loop with a link to a folder of root's that only
    root can reach (755, but inside a 700 one): bubblewrap binds by path, so a link in place
    when it mounts would show root's folder where the student's should be. The worker checks
    that it shows the very folder its parent looked at, which holds the program."""
    _root_only()
    teacher = tmp_path / "teacher"
    answers = teacher / "answers"
    answers.mkdir(parents=True)
    (answers / "key.txt").write_text("THE-ANSWERS\n")
    (answers / "key.txt").chmod(0o644)
    answers.chmod(0o755)
    teacher.chmod(0o700)
    student = tmp_path / "student"
    folder = student / "hw"
    folder.mkdir(parents=True)
    student.chmod(0o755)
    folder.chmod(0o755)
    source = f"try:\n    print(open({str(folder / 'key.txt')!r}).read())\nexcept OSError as exc:\n    print(type(exc).__name__)\n"
    (folder / "prog.py").write_text(source)
    (folder / "prog.py").chmod(0o644)
    (student / "alt").symlink_to(answers)
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(folder), str(student / "alt")])
    seen: list[str] = []
    pool = WorkerPool(1) if pooled else None
    try:
        # At least 16 runs, and on until one ran in the student's folder (a swap in time).
        for run in range(48):
            transcript = run_sandboxed(source, folder / "prog.py", TraceOptions(), "prog.py", pool=pool)
            seen += _outputs(transcript) or [str(transcript["steps"][-1]["error"]["message"])]
            if any("THE-ANSWERS" in text for text in seen) or (run >= 15 and "FileNotFoundError\n" in seen):
                break
    finally:
        swapper.kill()
        swapper.wait()
        if pool is not None:
            pool.close()
    assert not any("THE-ANSWERS" in text for text in seen), seen
    if "FileNotFoundError\n" not in seen:
        # The swapper won every race (a busy machine): every run was refused, none leaked. The
        # same run in the same folder, left alone, runs there: the refusals were the check's.
        if folder.is_symlink():  # the swapper stopped with the two names exchanged
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.renameat2(-100, bytes(folder), -100, bytes(student / "alt"), 2) == 0
        transcript = run_sandboxed(source, folder / "prog.py", TraceOptions(), "prog.py")
        assert _outputs(transcript) == ["FileNotFoundError\n"], transcript["steps"][-1]


def test_a_folder_holds_its_program_whatever_its_line_endings_and_never_through_a_pseudo_file(
    tmp_path: Path,
) -> None:
    from sqlecho._sandbox.launch import _holds

    (tmp_path / "crlf.py").write_bytes(b"\xef\xbb\xbfx = 1\r\nprint(x)\r\n")
    (tmp_path / "proc.py").symlink_to("/proc/self/status")  # says it is empty: never read
    top = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert _holds(top, "crlf.py", "x = 1\nprint(x)\n")
        assert not _holds(top, "crlf.py", "x = 2\nprint(x)\n")
        assert not _holds(top, "proc.py", "Name:", follow=True)
        assert not _holds(top, "proc.py", "Name:")
    finally:
        os.close(top)
