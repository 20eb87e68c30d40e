"""Programs that try to leave the sandbox, as root and as a normal user, with the program's folder
readable by others (755) and readable only by its owner (700).

Each attack runs the real command line (``python -m sqlecho trace --json``) and checks, from
inside the program, that it holds no capability, is not uid 0, and that every system call that
reaches the host fails; and from outside, that nothing on the host changed.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sqlecho._sandbox.launch import Sandbox, SandboxRefused
from sqlecho._sandbox.pool import WorkerPool
from sqlecho._sandbox.runner import run_sandboxed
from sqlecho._trace.options import TraceOptions

pytestmark = pytest.mark.sandbox

# Every call that reaches the host from a root process, tried with ctypes; printed as
# {name: errno} (0 means it worked).
ESCAPE_PROBE = r"""
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
here = os.path.dirname(os.path.abspath(__file__))
status = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Uid", "Gid"):
        status[key] = value.split()[0]

def call(name, *args):
    ctypes.set_errno(0)
    result = getattr(libc, name)(*args)
    return 0 if result >= 0 else ctypes.get_errno()

NR = {"x86_64": {"bpf": 321, "keyctl": 250, "ptrace": 101, "open_by_handle_at": 304,
                 "name_to_handle_at": 303, "memfd_create": 319, "setns": 308, "clone": 56},
      "aarch64": {"bpf": 280, "keyctl": 219, "ptrace": 117, "open_by_handle_at": 265,
                  "name_to_handle_at": 264, "memfd_create": 279, "setns": 268, "clone": 220}}[os.uname().machine]
handle = ctypes.create_string_buffer(128)
ctypes.memmove(handle, (128).to_bytes(4, "little"), 4)
mount_id = ctypes.c_int()
fd = os.open("/usr", os.O_RDONLY)
results = {
    "mount": call("mount", b"none", b"/tmp", b"tmpfs", 0, None),
    "remount_rw": call("mount", here.encode(), here.encode(), None, 4096 | 32, None),  # MS_BIND|MS_REMOUNT
    "umount2": call("umount2", b"/usr", 2),
    "unshare_user": call("unshare", 0x10000000),
    "unshare_mount": call("unshare", 0x00020000),
    "clone_newuser": call("syscall", NR["clone"], 0x10000000 | 17, 0, 0, 0, 0),
    "setns": call("syscall", NR["setns"], fd, 0),
    "shmget": call("shmget", 0, 1 << 20, 0o1000 | 0o600),
    "memfd_create": call("syscall", NR["memfd_create"], b"x", 0),
    "ptrace_attach": call("syscall", NR["ptrace"], 16, 1, 0, 0),
    "bpf": call("syscall", NR["bpf"], 0, 0, 0),
    "keyctl": call("syscall", NR["keyctl"], 0, 0, 0, 0, 0),
    "name_to_handle_at": call("syscall", NR["name_to_handle_at"], fd, b"", handle, ctypes.byref(mount_id), 0x1000),
    "open_by_handle_at": call("syscall", NR["open_by_handle_at"], fd, handle, 0),
    "setuid_0": call("setuid", 0),
}
try:
    with open(os.path.join(here, "written-by-program"), "w") as file:
        file.write("x")
    results["write_own_folder"] = 0
except OSError as exc:
    results["write_own_folder"] = exc.errno
try:
    os.kill(os.getppid(), 9)
    results["kill_supervisor"] = 0
except OSError as exc:
    results["kill_supervisor"] = exc.errno
import sibling
print(json.dumps({"status": status, "results": results, "sibling": sibling.VALUE}))
"""


def _trace(program: Path, **env: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", str(program), "--json"],
        capture_output=True,
        env={**os.environ, "SQLECHO_WORKER_TAG": f"sqlecho-test-{secrets.token_hex(4)}", **env},
        cwd=program.parent,
        timeout=120,
    )
    assert done.stderr == b"", done.stderr.decode()
    return done.returncode, json.loads(done.stdout)


def _outputs(transcript: dict[str, Any]) -> list[str]:
    return [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]


@pytest.fixture(params=[0o755, 0o700], ids=["folder-755", "folder-700"])
def program_folder(request: pytest.FixtureRequest, tmp_path: Path, bwrap: str) -> Path:
    """A folder of the program's own, at the mode under test, with a sibling module that any
    user may read (so a 700 folder's program still imports it: it sees a copy of it)."""
    folder = tmp_path / "program"
    folder.mkdir()
    sibling = folder / "sibling.py"
    sibling.write_text("VALUE = 'imported'\n")
    sibling.chmod(0o644)
    folder.chmod(request.param)
    return folder


def test_no_capability_no_root_and_every_escape_call_fails(program_folder: Path) -> None:
    program = program_folder / "escape.py"
    program.write_text(ESCAPE_PROBE)
    code, transcript = _trace(program)
    assert code == 0, transcript["steps"][-1]["error"]
    report = json.loads(_outputs(transcript)[-1])
    status, results = report["status"], report["results"]
    assert {status[name] for name in ("CapInh", "CapPrm", "CapEff", "CapAmb")} == {"0000000000000000"}
    assert status["NoNewPrivs"] == "1"
    assert status["Uid"] != "0" and status["Gid"] != "0"
    if os.geteuid() == 0:
        assert status["CapBnd"] == "0000000000000000"
    refused = {name: number for name, number in results.items() if number != 0}
    assert refused.keys() == results.keys(), f"these worked: {set(results) - set(refused)}"
    # Denied by the filter (EPERM) rather than by chance: the filter is what keeps them closed.
    for name in ("mount", "unshare_user", "clone_newuser", "shmget", "memfd_create", "bpf", "keyctl"):
        assert refused[name] == 1, (name, refused[name])
    assert report["sibling"] == "imported"
    assert not (program_folder / "written-by-program").exists()


def test_a_folder_too_big_to_copy_is_refused_with_a_clear_message(tmp_path: Path, bwrap: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root copies a folder the sandbox user cannot read")
    folder = tmp_path / "big"
    folder.mkdir()
    for number in range(2_001):
        (folder / f"f{number}.txt").write_text("")
    folder.chmod(0o700)
    program = folder / "prog.py"
    program.write_text("print('ran')\n")
    code, transcript = _trace(program)
    assert code == 1
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "SandboxError"
    assert f"chmod o+rx {folder}" in error["message"] and "readable only by its owner" in error["message"]
    assert _outputs(transcript) == []


PRIVATE_PROBE = """\
import os
here = os.path.dirname(os.path.abspath(__file__))
print(sorted(os.listdir(here)), os.stat(here).st_uid == os.getuid())
"""


def test_pasted_code_never_sees_a_folder_planted_under_tmp(bwrap: str) -> None:
    """Anyone can make /tmp/<name> before the server does: the pasted program's folder must be
    the sandbox's own, empty, whatever exists on the host at that path."""
    planted = Path("/tmp") / f"sqlecho-planted-{secrets.token_hex(4)}"
    planted.mkdir(mode=0o700)
    (planted / "secret.txt").write_text("planted")
    try:
        with WorkerPool(1) as pool:
            transcript = run_sandboxed(
                PRIVATE_PROBE,
                planted / "your_code.py",
                TraceOptions(),
                "your_code.py",
                pool=pool,
                private=True,
            )
        assert transcript["status"] == "ok", transcript["steps"][-1]["error"]
        assert _outputs(transcript) == ["[] True\n"]
        assert pool.folders == []  # nothing was added for later runs either
    finally:
        (planted / "secret.txt").unlink()
        planted.rmdir()


def test_private_programs_must_live_under_tmp(bwrap: str) -> None:
    transcript = run_sandboxed(
        "print(1)\n", Path("/srv/app/x.py"), TraceOptions(), "x.py", sandbox=Sandbox(), private=True
    )
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "SandboxError" and "under /tmp" in error["message"]


def test_the_pool_refuses_symlinks_and_folders_of_other_users(tmp_path: Path, bwrap: str) -> None:
    link = tmp_path / "link"
    link.symlink_to("/")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    if os.geteuid() == 0:
        os.chown(foreign, 12345, 12345)
    with WorkerPool(0) as pool:
        with pytest.raises(SandboxRefused, match="symbolic link"):
            pool.acquire(link)
        if os.geteuid() == 0:
            with pytest.raises(SandboxRefused, match="another user"):
                pool.acquire(foreign)
        transcript = run_sandboxed(
            "print(open('/etc/hostname').read())\n", link / "x.py", TraceOptions(), "x.py", pool=pool
        )
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "SandboxError" and "symbolic link" in error["message"]
    assert pool.folders == []


needs_cgroup = pytest.mark.usefixtures("run_cgroup")

FORK_MEMORY = """\
import os, time
print("started")
children = []
for _ in range(10):
    pid = os.fork()
    if pid == 0:
        block = bytearray(60 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(30)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("all children done")
"""


@needs_cgroup
def test_memory_is_limited_for_the_whole_run_not_per_process(tmp_path: Path, bwrap: str) -> None:
    """Ten children of 60 MiB each stay under a 256 MiB per-process limit, not under the run's."""
    program = tmp_path / "fork_memory.py"
    program.write_text(FORK_MEMORY)
    tmp_path.chmod(0o755)
    code, transcript = _trace(program, SQLECHO_LIMIT_MEMORY=str(256 << 20), SQLECHO_LIMIT_PROCESSES="32")
    assert code == 1 and transcript["status"] == "limit"
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "MemoryLimitExceeded" and error["limit"] == "memory"
    assert (
        "the program and its children needed more memory than the limit (memory = 256 MiB)"
        in error["message"]
    )
    assert "all children done\n" not in _outputs(transcript)


THREADS = """\
import threading, time
print("started")
threads = []
for number in range(200):
    thread = threading.Thread(target=time.sleep, args=(5,), daemon=True)
    thread.start()
    threads.append(thread)
print("started", len(threads))
"""


@needs_cgroup
def test_threads_count_against_the_process_limit_in_every_folder_mode(program_folder: Path) -> None:
    program = program_folder / "threads.py"
    program.write_text(THREADS)
    code, transcript = _trace(program, SQLECHO_LIMIT_PROCESSES="16")
    assert code == 1 and transcript["status"] == "limit"
    assert transcript["steps"][-1]["error"]["type"] == "ProcessLimitExceeded"
    assert _outputs(transcript) == ["started\n"]


def test_a_refused_call_is_an_explained_error_on_its_step_not_a_crash(tmp_path: Path, bwrap: str) -> None:
    from sqlecho._render.explain import explain

    program = tmp_path / "memfd.py"
    program.write_text('print("before")\nimport os\nos.memfd_create("x")\nprint("after")\n')
    code, transcript = _trace(program)
    assert code == 1 and transcript["status"] == "error"
    error = transcript["steps"][-1]["error"]
    assert (error["type"], error["line"]) == ("PermissionError", 3)
    explanation = explain(error)
    assert explanation is not None and "sandbox" in explanation.what
    assert _outputs(transcript) == ["before\n"]


FORGER = """\
import json, os, stat
print("real output")
forged_step = {"index": 0, "title": "FORGED", "narrative": "", "lines": [1, 10**15], "events": [],
               "objects": [], "session": None, "tables": {}, "error": None}
tiny = b'{"step":{"index":1,"lines":[1,1],"events":[' + b",".join([b'{"kind":"output","line":null,"text":""}'] * 400_000) + b"]}}\\n"
lines = [json.dumps({"step": forged_step}, separators=(",", ":")).encode() + b"\\n",
         b'{"done":{"version":1,"source":"x","steps":1,"status":"ok"}}\\n',
         b'{"exit":0}\\n', tiny]
for fd in range(3, 256):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            for line in lines:
                os.write(fd, line)
    except OSError:
        pass
print("after")
"""


def test_a_forged_transcript_is_refused_and_costs_the_server_nothing(tmp_path: Path, bwrap: str) -> None:
    program = tmp_path / "forger.py"
    program.write_text(FORGER)
    for mode in ("--json", None):
        argv = [sys.executable, "-m", "sqlecho", "trace", str(program), *([mode] if mode else [])]
        done = subprocess.run(argv, capture_output=True, cwd=tmp_path, timeout=60)
        assert done.returncode == 1, done.stderr.decode()
        assert "· FORGED".encode() not in done.stdout  # no step of that title in the text
        if mode:
            transcript = json.loads(done.stdout)
            error = transcript["steps"][-1]["error"]
            assert error["type"] == "SandboxError" and "no part of a valid transcript" in error["message"]
            assert _outputs(transcript)[0] == "real output\n"
            assert "FORGED" not in {step["title"] for step in transcript["steps"]}
            assert all(step["lines"][1] <= FORGER.count("\n") for step in transcript["steps"])


def test_without_a_control_group_the_status_and_the_app_say_so(bwrap: str) -> None:
    code = (
        "from sqlecho._sandbox.launch import sandbox_status\n"
        "from sqlecho._app.programs import sandbox_description\n"
        "print(sandbox_status()); print(sandbox_description())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "SQLECHO_CGROUP": "0"},
        timeout=60,
        check=True,
    )
    status, note = done.stdout.splitlines()
    assert status == "bubblewrap; limits per process only: turned off by SQLECHO_CGROUP=0"
    assert "not for a run as a whole (limits per process only: turned off by SQLECHO_CGROUP=0)" in note


def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("only root copies a folder that the sandbox user cannot read")


def test_copying_a_700_folder_follows_no_link_and_changes_nothing_outside(tmp_path: Path, bwrap: str) -> None:
    _root_only()
    target = tmp_path / "root-only"
    target.mkdir(mode=0o700)
    (target / "secret.txt").write_text("TOPSECRET")
    folder = tmp_path / "program"
    folder.mkdir(mode=0o700)
    (folder / "linkdir").symlink_to(target)
    (folder / "linkfile").symlink_to(target / "secret.txt")
    os.mkfifo(folder / "fifo")  # would block a copy that opens it
    program = folder / "prog.py"
    program.write_text(
        "import os\nfor name in ('linkdir/secret.txt', 'linkfile', 'fifo'):\n"
        "    try:\n        print(name, open(name).read())\n"
        "    except OSError as exc:\n        print(name, type(exc).__name__)\n"
    )
    code, transcript = _trace(program)
    assert code == 0, transcript["steps"][-1]["error"]
    assert _outputs(transcript) == [
        "linkdir/secret.txt FileNotFoundError\n",
        "linkfile FileNotFoundError\n",
        "fifo FileNotFoundError\n",
    ]
    assert target.stat().st_mode & 0o777 == 0o700  # not made readable on the host
    assert (target / "secret.txt").stat().st_mode & 0o077 == (target / "secret.txt").stat().st_mode & 0o077


def test_a_700_folder_reached_through_a_link_is_refused(tmp_path: Path, bwrap: str) -> None:
    """A link can be swapped while the folder is copied; only the real path is copied."""
    _root_only()
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (real / "prog.py").write_text("print('ran')\n")
    link = tmp_path / "link"
    link.symlink_to(real)
    code, transcript = _trace(link / "prog.py")
    assert code == 1
    error = transcript["steps"][-1]["error"]
    assert (
        error["type"] == "SandboxError"
        and "symbolic link" in error["message"]
        and str(real) in error["message"]
    )
    assert _outputs(transcript) == []


def test_a_folder_that_cannot_be_shown_does_not_spoil_the_pool(tmp_path: Path, bwrap: str) -> None:
    _root_only()
    bad = tmp_path / "bad"
    bad.mkdir(mode=0o700)
    for number in range(2_001):
        (bad / f"f{number}").touch()
    good = tmp_path / "good"
    good.mkdir(mode=0o755)
    (good / "p.py").write_text("print(2)\n")  # a folder shown as it is must hold its program
    with WorkerPool(1) as pool:
        refused = run_sandboxed("print(1)\n", bad / "p.py", TraceOptions(), "p.py", pool=pool)
        fine = run_sandboxed("print(2)\n", good / "p.py", TraceOptions(), "p.py", pool=pool)
    assert refused["steps"][-1]["error"]["type"] == "SandboxError"
    assert fine["status"] == "ok" and _outputs(fine) == ["2\n"]
    assert bad not in pool.folders


def test_a_lone_surrogate_in_the_output_is_shown_escaped_in_both_modes(tmp_path: Path, bwrap: str) -> None:
    program = tmp_path / "surrogate.py"
    program.write_text('print("a\\ud800b")\n')
    code, transcript = _trace(program)
    assert code == 0 and _outputs(transcript) == ["a\ud800b\n"]
    text = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", str(program)],
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert text.returncode == 0 and b"> a\\ud800b" in text.stdout


FLOOD = """\
import gc, os
channel = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
line = b'{"ready":[' + b'[],' * 3_000_000 + b'[]]}\\n'
view = memoryview(line)
while view:
    view = view[os.write(channel.fd, view):]
print("sent")
"""


def test_a_message_of_millions_of_tiny_records_is_refused_before_it_is_parsed(
    tmp_path: Path, bwrap: str
) -> None:
    program = tmp_path / "flood.py"
    program.write_text(FLOOD)
    code, transcript = _trace(program)
    assert code == 1
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "OutputLimitExceeded" and error["limit"] == "output"


def test_a_copy_is_made_only_of_the_folder_that_holds_the_program(tmp_path: Path) -> None:
    """A folder renamed into the program's place (after its text was read) is not copied."""
    _root_only()
    from sqlecho._sandbox.launch import _view_of

    folder = tmp_path / "program"
    folder.mkdir(mode=0o700)
    (folder / "prog.py").write_text("print('the program')\n")
    stage = tmp_path / "stage"
    stage.mkdir(mode=0o700)
    assert (_view_of(folder, stage, ("prog.py", "print('the program')\n")) / "prog.py").exists()
    with pytest.raises(SandboxRefused, match="changed while the program was being read"):
        _view_of(folder, stage, ("prog.py", "print('what was read before the swap')\n"))


def test_a_copy_shows_only_what_the_folders_owner_may_read(tmp_path: Path) -> None:
    _root_only()
    from sqlecho._sandbox.launch import _view_of

    folder = tmp_path / "users"
    folder.mkdir(mode=0o700)
    os.chown(folder, 12345, 12345)
    (folder / "mine.py").write_text("x = 1\n")
    os.chown(folder / "mine.py", 12345, 12345)
    (folder / "roots.txt").write_text("root only\n")  # root's, mode 644 minus the others: 600
    (folder / "roots.txt").chmod(0o600)
    stage = tmp_path / "stage"
    stage.mkdir(mode=0o700)
    copy = _view_of(folder, stage)
    assert sorted(path.name for path in copy.iterdir()) == ["mine.py"]


@pytest.mark.parametrize("shape", ["deep", "wide"])
def test_a_copy_is_bounded_in_depth_and_entries(tmp_path: Path, shape: str) -> None:
    _root_only()
    from sqlecho._sandbox.launch import _view_of

    folder = tmp_path / "tree"
    folder.mkdir(mode=0o700)
    if shape == "deep":
        (folder / "/".join(["a"] * 200)).mkdir(parents=True)
    else:
        for number in range(2_100):
            (folder / f"d{number}").mkdir()
    stage = tmp_path / "stage"
    stage.mkdir(mode=0o700)
    with pytest.raises(SandboxRefused, match="too big to copy"):
        _view_of(folder, stage)


def test_the_terminal_cuts_wide_code_lines(tmp_path: Path) -> None:
    from sqlecho._render.text import format_transcript

    source = "x = 1  # " + "z" * 5_000 + "\n"
    step = {
        "index": 0,
        "title": None,
        "narrative": "",
        "lines": [1, 1],
        "events": [],
        "objects": [],
        "error": None,
    }
    text = format_transcript({"steps": [step], "status": "ok"}, source)
    assert len(text) < 1_000 and "(4709 more)" in text


MANY_VALUES = """\
exec('''
import gc, json
channel = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
record = {"label": "A#1", "class": "A", "names": [], "state": "transient", "identity": None,
          "values": {"v": ["a"] * 250_000}, "expired": [], "unloaded": [], "session": None}
for index in range(8):
    step = {"index": index, "title": None, "narrative": "", "lines": [1, 1], "events": [],
            "objects": [record], "session": None, "tables": {}, "error": None}
    channel._write(json.dumps({"step": step}, separators=(",", ":")).encode() + b"\\\\n")
''')
"""


def test_many_lines_of_tiny_values_are_refused_over_the_run(tmp_path: Path, bwrap: str) -> None:
    """Each line is under the per-line cap; together they would make the server hold far more
    than the output limit suggests."""
    program = tmp_path / "values.py"
    program.write_text(MANY_VALUES)
    code, transcript = _trace(program)
    assert code == 1
    error = transcript["steps"][-1]["error"]
    assert error["type"] == "OutputLimitExceeded" and error["limit"] == "output"


def test_the_filter_exists_for_x86_64_and_aarch64_only() -> None:
    from sqlecho._sandbox.seccomp import filter_program

    for machine in ("x86_64", "aarch64"):
        program = filter_program(machine)
        assert program is not None and len(program) % 8 == 0
    assert filter_program("riscv64") is None  # the status then says there is no filter
