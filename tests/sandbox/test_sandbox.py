"""Hostile programs through ``python -m sqlecho trace``: each one is stopped, reported, cleaned up.

Every case runs the real command line in a subprocess with small limits (``SQLECHO_LIMIT_*``)
and its own worker tag (``SQLECHO_WORKER_TAG``), then checks from outside: exit status 1, the
right error on the step where it happened, the earlier steps kept, the time it took, and that no
process carrying the tag is left.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sqlecho._sandbox.launch import sandbox_status
from sqlecho._sandbox.runner import GRACE_S
from tests.helpers import ROOT

SMALL_LIMITS = {
    "wall_time": 10,  # long enough for the CPU-time cases to hit their limit first on a busy CI
    "cpu_time": 1,
    "memory": 256 * 1024 * 1024,
    "processes": 8,
    "open_files": 32,
    "file_size": 1024 * 1024,
}


def survivors(tag: str) -> list[str]:
    """Command lines of running processes that carry ``tag`` (like ``pgrep -af``)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as file:
                argv = file.read().split(b"\0")
        except OSError:
            continue
        if tag.encode() in argv or any(tag.encode() in arg for arg in argv):
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def trace_cli(program: Path, tag: str, **limits: float) -> tuple[int, dict[str, Any], float]:
    """Run the command line on ``program``: exit status, transcript, seconds taken."""
    env = {**os.environ, "SQLECHO_WORKER_TAG": tag}
    for name, value in {**SMALL_LIMITS, **limits}.items():
        env[f"SQLECHO_LIMIT_{name.upper()}"] = str(value)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", str(program), "--json"],
        capture_output=True,
        env=env,
        cwd=program.parent,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert done.stderr == b"", done.stderr.decode()
    return done.returncode, json.loads(done.stdout), elapsed


@dataclass(frozen=True)
class Hostile:
    program: str
    error: str
    """Expected error type on the last step."""
    message: str
    """Expected in the error message (the limit's name and value)."""
    limit: str | None
    line: int | None
    needs_bwrap: bool = False
    limits: tuple[tuple[str, float], ...] = ()
    truncated: str | None = None
    """Expected key of the transcript's "truncated" record."""


CASES = {
    "infinite loop": Hostile(
        'print("started")\nwhile True:\n    pass\n',
        "CpuTimeLimitExceeded",
        "cpu_time = 1 s",
        "cpu_time",
        None,
    ),
    "sleep": Hostile(
        'import time\nprint("started")\ntime.sleep(60)\n',
        "TimeLimitExceeded",
        "wall_time = 1.5 s",
        "wall_time",
        3,
        limits=(("wall_time", 1.5),),
    ),
    "memory bomb": Hostile(
        '# %% one\nprint("started")\n# %% bomb\nchunks = []\nwhile True:\n    chunks.append(" " * 10**6)\n',
        "MemoryLimitExceeded",
        "memory = 256 MiB",
        "memory",
        6,
    ),
    "one huge allocation": Hostile(
        'print("started")\nx = bytearray(10**11)\n',
        "MemoryLimitExceeded",
        "memory = 256 MiB",
        "memory",
        2,
    ),
    "sys.exit": Hostile(
        'import sys\nprint("started")\nsys.exit(3)\n', "SystemExit", "exit status 3", None, 3
    ),
    "os._exit": Hostile(
        'import os\nprint("started")\nos._exit(3)\n', "ProcessExited", "exit status 3", None, 3
    ),
    "syntax error": Hostile('print("started"\n', "SyntaxError", "never closed", None, 1),
    "output flood": Hostile(
        'print("started")\nwhile True:\n    print("x" * 1000)\n',
        "CpuTimeLimitExceeded",
        "cpu_time = 1 s",
        "cpu_time",
        None,
        truncated="output",
    ),
    "segfault": Hostile(
        'import ctypes\nprint("started")\nctypes.string_at(0)\n',
        "ProgramCrashed",
        "SIGSEGV",
        None,
        3,
    ),
    "runaway SQL": Hostile(
        "# %% setup\n"
        "from sqlalchemy import create_engine, text\n"
        'engine = create_engine("sqlite://")\n'
        'print("started")\n'
        "# %% query\n"
        "with engine.connect() as connection:\n"
        '    connection.execute(text("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "\n'
        '                            "SELECT count(*) FROM r")).all()\n',
        "CpuTimeLimitExceeded",
        "cpu_time = 1 s",
        "cpu_time",
        7,
    ),
    "limit in a raises-exception cell": Hostile(
        '# %% one\nprint("started")\n# %% two tags=["raises-exception"]\nimport time\ntime.sleep(60)\n'
        '# %% three\nprint("must not run")\n',
        "TimeLimitExceeded",
        "wall_time = 1.5 s",
        "wall_time",
        5,
        limits=(("wall_time", 1.5),),
    ),
    "swallowed limit": Hostile(
        'import time\nprint("started")\nwhile True:\n    try:\n        time.sleep(60)\n'
        "    except BaseException:\n        pass\n",
        "TimeLimitExceeded",
        "wall_time = 1.5 s",
        "wall_time",
        None,
        limits=(("wall_time", 1.5),),
    ),
    "big file": Hostile(
        'import tempfile\nprint("started")\nwith tempfile.TemporaryFile() as file:\n    file.write(b"x" * 4_000_000)\n',
        "FileSizeLimitExceeded",
        "file_size = 1 MiB",
        "file_size",
        4,
    ),
    "many open files": Hostile(
        'import tempfile\nprint("started")\nfiles = [tempfile.TemporaryFile() for _ in range(100)]\n',
        "OpenFilesLimitExceeded",
        "open_files = 32",
        "open_files",
        3,
    ),
    "transcript too large": Hostile(
        'print("started")\nfor i in range(5000):\n    i += 1\n',
        "OutputLimitExceeded",
        "output = 100000 bytes",
        "output",
        None,
        limits=(("output", 100_000),),
    ),
    "fork flood": Hostile(
        "import os, sys\n"
        'print("started")\n'
        "while True:\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        '        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "__TAG__"])\n',
        "ProcessLimitExceeded",
        "processes = 8",
        "processes",
        4,
        needs_bwrap=True,
    ),
    "signals to the parent and everyone": Hostile(
        "import os, signal\n"
        'print("started")\n'
        "for target in (os.getppid(), 1):\n"
        "    try:\n"
        "        os.kill(target, signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n"
        "signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "while True:\n"
        "    pass\n",
        "CpuTimeLimitExceeded",
        "cpu_time = 1 s",
        "cpu_time",
        None,
        needs_bwrap=True,
    ),
}


@pytest.fixture(scope="module")
def startup_s(tmp_path_factory: pytest.TempPathFactory) -> float:
    """What starting the command line and a cold worker costs on this machine right now: the
    margin on top of a limit (a busy CI can take seconds to import SQLAlchemy twice)."""
    program = tmp_path_factory.mktemp("empty") / "empty.py"
    program.write_text("pass\n")
    code, _, elapsed = trace_cli(program, "sqlecho-test-empty")
    assert code == 0
    return 2 * elapsed + 1.0


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_program_is_stopped_reported_and_cleaned_up(
    case: Hostile, tmp_path: Path, request: pytest.FixtureRequest, startup_s: float
) -> None:
    if case.needs_bwrap:
        request.getfixturevalue("bwrap")
        # Never without the sandbox: these programs would reach the machine.
        assert sandbox_status().startswith("bubblewrap;")
    tag = f"sqlecho-test-{secrets.token_hex(4)}"
    # Run as root, the sandbox drops to a user of its own only if it can still read the folder.
    tmp_path.chmod(0o755)
    program = tmp_path / "hostile.py"
    program.write_text(case.program.replace("__TAG__", tag))
    limits = {**SMALL_LIMITS, **dict(case.limits)}

    code, transcript, _ = trace_cli(program, tag, **dict(case.limits))

    assert code == 1
    assert transcript["status"] == ("limit" if case.limit else "error")
    error = transcript["steps"][-1]["error"]
    assert error["type"] == case.error and case.message in error["message"], error
    assert error.get("limit") == case.limit and error["expected"] is False
    if case.line is not None:
        assert error["line"] == case.line
    outputs = [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]
    if case.error != "SyntaxError":
        assert outputs and outputs[0].startswith("started"), "the steps before the limit are kept"
    assert "must not run" not in "".join(outputs)
    if case.truncated:
        assert case.truncated in transcript["truncated"]
    # The run itself (from the job's start; a worker killed from outside counts its start-up too).
    assert transcript["duration_ms"] / 1000 < limits["wall_time"] + GRACE_S + startup_s
    assert survivors(tag) == []


def test_writing_to_fd_1_and_closing_it_changes_nothing(tmp_path: Path) -> None:
    program = tmp_path / "fds.py"
    program.write_text('import os\nos.write(1, b"direct\\n")\nos.close(1)\nos.close(2)\nprint("after")\n')
    code, transcript, _ = trace_cli(program, "sqlecho-test-fds")
    assert code == 0 and transcript["status"] == "ok"
    outputs = [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]
    assert outputs == ["after\n"]


def test_closing_the_result_pipe_is_reported(tmp_path: Path) -> None:
    program = tmp_path / "pipe.py"
    program.write_text('print("started")\nimport os\nos.closerange(3, 1024)\nprint("lost")\n')
    code, transcript, _ = trace_cli(program, "sqlecho-test-pipe")
    assert code == 1 and transcript["status"] == "error"
    assert transcript["steps"][0]["events"][0]["text"] == "started\n"
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "SandboxError" and "closed the pipe" in error["message"]


CONFINEMENT_PROBE = """\
import os, socket, sys
attempts = {}
for name in sys.argv[1:]:
    kind, _, target = name.partition(":")
    try:
        if kind == "read":
            open(target, "rb").read(1)
        elif kind == "write":
            with open(target, "w") as file:
                file.write("x")
        elif kind == "connect":
            socket.create_connection(("127.0.0.1", int(target)), timeout=1).close()
        attempts[name] = "done"
    except OSError as exc:
        attempts[name] = type(exc).__name__
print(sorted(k for k, v in attempts.items() if v == "done"))
print(sorted(os.environ))
"""


def test_program_cannot_read_write_or_connect_outside(
    bwrap: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = tmp_path_factory.mktemp("server-home") / "secret.txt"
    secret.write_text("password")
    marker = Path("/tmp") / f"sqlecho-marker-{secrets.token_hex(4)}"
    beside = tmp_path / "beside.txt"
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    os.environ["SQLECHO_TEST_SECRET"] = "do-not-pass"
    try:
        targets = [
            "read:/etc/shadow",
            f"read:{secret}",
            f"read:{ROOT / 'pyproject.toml'}",
            f"write:{beside}",
            f"write:{marker}",
            f"connect:{port}",
            "write:scratch.txt",
        ]
        program = tmp_path / "probe.py"
        program.write_text(CONFINEMENT_PROBE.replace("sys.argv[1:]", repr(targets)))
        code, transcript, _ = trace_cli(program, "sqlecho-test-probe")
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
        del os.environ["SQLECHO_TEST_SECRET"]
    assert code == 0, transcript["steps"][-1]["error"]
    outputs = [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]
    # Only the write to /tmp succeeded: to the sandbox's own /tmp, which vanished with it.
    assert outputs[0] == f"{[f'write:{marker}']}\n"
    assert "SQLECHO_TEST_SECRET" not in outputs[1] and "PYTHONHASHSEED" in outputs[1]
    assert not beside.exists() and not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe.py"]


def test_junk_written_to_the_result_pipe_stops_the_run_with_a_clear_error(tmp_path: Path) -> None:
    program = tmp_path / "junk.py"
    program.write_text(
        "import os, stat\n"
        "junk = [b'not json\\n', b'[' * 100_000 + b'\\n', b'{\"step\": {\"index\": \"x\"}}\\n',\n"
        '        b\'{"done": {"steps": "x"}}\\n\', b\'{"step": {"index": 0, "lines": []}}\\n\']\n'
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
        "            for line in junk:\n"
        "                os.write(fd, line)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('still fine')\n"
    )
    code, transcript, _ = trace_cli(program, "sqlecho-test-junk")
    assert code == 1 and transcript["status"] == "error"
    assert [step["index"] for step in transcript["steps"]] == list(range(len(transcript["steps"])))
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "SandboxError" and "no part of a valid transcript" in error["message"]
    outputs = [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]
    assert outputs == []


def test_python_under_tmp_stays_visible_inside_the_private_tmp() -> None:
    """A virtualenv or checkout under /tmp (CI clones often live there) is bound after the private
    /tmp is mounted, so the later mount does not hide the interpreter."""
    from sqlecho._sandbox.launch import Sandbox, _python_paths, _top_folders

    args = Sandbox()._bwrap_args([], 1 << 20)
    tmpfs = args.index("--tmpfs")
    for path in _top_folders(_python_paths()):
        bound = [i for i, arg in enumerate(args[:-1]) if arg == "--ro-bind" and args[i + 1] == str(path)]
        assert bound and min(bound) > tmpfs, path
