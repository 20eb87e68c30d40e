"""The system-call filter is an allow list: every lesson and fidelity program runs under it
unchanged, while calls it does not list (a newer kernel's, or an unknown number), the calls that
leave a sandbox, and socket families other than unix and IP are refused."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from sqlecho import trace
from sqlecho._sandbox.launch import Sandbox
from sqlecho._sandbox.pool import WorkerPool
from sqlecho._sandbox.runner import run_sandboxed
from sqlecho._sandbox.seccomp import ALLOWED, DENIED, FilterUnavailable, filter_program, load_libseccomp
from sqlecho._trace.options import TraceOptions
from tests.helpers import LESSONS, TESTS

pytestmark = pytest.mark.sandbox

LESSON_FILES = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
PROGRAMS = sorted((TESTS / "programs").glob("*.py"))


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: None if key.endswith(("_ms", "_s")) else _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


@pytest.fixture(scope="module")
def confined() -> Sandbox:
    return Sandbox(tag=f"sqlecho-test-{secrets.token_hex(4)}")


@pytest.mark.usefixtures("bwrap")
def test_every_lesson_and_fidelity_program_runs_to_the_same_transcript_under_the_filter(
    confined: Sandbox,
) -> None:
    assert confined.status() == "bubblewrap"
    golden = TESTS / "golden"
    with WorkerPool(2, sandbox=confined, folders=(LESSONS, TESTS / "programs")) as pool:
        for path in [*LESSON_FILES, *PROGRAMS]:
            is_lesson = path.parent == LESSONS
            name = f"lessons/{path.name}" if is_lesson else path.name
            source = path.read_text(encoding="utf-8-sig")
            sandboxed = run_sandboxed(source, path, TraceOptions(), name, pool=pool)
            if is_lesson:
                expected = json.loads((golden / f"{path.stem}.json").read_text(encoding="utf-8"))
                assert _masked(sandboxed) == _masked(expected), path.name
            else:
                # A program's SQL, output and errors: which detached object SQLAlchemy happened to
                # fill a back-reference of (relationships.py) may differ from one process to the next.
                expected = trace(path, source_name=name)
                assert _what_it_did(sandboxed) == _what_it_did(expected), path.name


def _what_it_did(transcript: dict[str, Any]) -> list[object]:
    return [(step["lines"], _masked(step["events"]), step["error"]) for step in transcript["steps"]]


# Unknown numbers: one past every table, one far beyond, and open_tree_attr (467), which the
# filter never lists. Each must fail with ENOSYS (38) or EPERM (1), never run.
UNKNOWN_CALLS = r"""
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
results = {}
# The calls that leave a sandbox, by their numbers common to x86_64 and aarch64: io_uring_setup,
# open_tree, fsopen, mount_setattr, memfd_secret.
for number in (467, 999, 0x3FFFFFFF, 425, 428, 430, 442, 447):
    ctypes.set_errno(0)
    returned = libc.syscall(number, 0, 0, 0, 0, 0)
    results[number] = ctypes.get_errno() if returned < 0 else 0
print(json.dumps(results))
"""

SOCKETS = r"""
import json, socket
results = {}
for name, family, kind in [
    ("AF_VSOCK", 40, socket.SOCK_STREAM), ("AF_PACKET", 17, socket.SOCK_RAW),
    ("AF_ALG", 38, socket.SOCK_SEQPACKET), ("AF_NETLINK", 16, socket.SOCK_RAW),
    ("AF_BLUETOOTH", 31, socket.SOCK_STREAM), ("AF_UNIX", 1, socket.SOCK_STREAM),
    ("AF_INET", 2, socket.SOCK_STREAM), ("AF_INET6", 10, socket.SOCK_STREAM),
]:
    try:
        socket.socket(family, kind).close()
        results[name] = 0
    except OSError as exc:
        results[name] = exc.errno
try:
    for end in socket.socketpair(socket.AF_UNIX):
        end.close()
    results["socketpair_unix"] = 0
except OSError as exc:
    results["socketpair_unix"] = exc.errno
try:
    socket.socketpair(socket.AF_INET)
    results["socketpair_inet"] = 0
except OSError as exc:
    results["socketpair_inet"] = exc.errno
# AI_ADDRCONFIG makes the C library ask netlink which families the machine has.
found = socket.getaddrinfo("127.0.0.1", 5432, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
results["getaddrinfo"] = sorted({info[0].name for info in found})
print(json.dumps(results))
"""


def _printed(source: str, folder: Path, confined: Sandbox) -> Any:
    program = folder / "probe.py"
    program.write_text(source)
    folder.chmod(0o755)
    transcript = run_sandboxed(source, program, TraceOptions(), program.name, sandbox=confined)
    assert transcript["status"] == "ok", transcript["steps"][-1].get("error")
    texts = [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]
    return json.loads(texts[-1])


@pytest.mark.usefixtures("bwrap")
def test_a_new_or_unknown_call_fails_with_enosys_and_a_denied_one_with_eperm(
    tmp_path: Path, confined: Sandbox
) -> None:
    results = _printed(UNKNOWN_CALLS, tmp_path, confined)
    assert results == {
        **{"467": 38, "999": 38, str(0x3FFFFFFF): 38},  # ENOSYS: not on the allow list
        **{"425": 1, "428": 1, "430": 1, "442": 1, "447": 1},  # EPERM: denied by name
    }


@pytest.mark.usefixtures("bwrap")
def test_only_unix_and_ip_sockets_can_be_opened(tmp_path: Path, confined: Sandbox) -> None:
    results = _printed(SOCKETS, tmp_path, confined)
    eafnosupport = 97
    for family in ("AF_VSOCK", "AF_PACKET", "AF_ALG", "AF_NETLINK", "AF_BLUETOOTH", "socketpair_inet"):
        assert results[family] == eafnosupport, (family, results[family])
    for family in ("AF_UNIX", "AF_INET", "AF_INET6", "socketpair_unix"):
        assert results[family] == 0, (family, results[family])
    # The C library's name lookup does without netlink.
    assert results["getaddrinfo"] == ["AF_INET"]


def test_the_lists_are_disjoint_and_the_filter_is_built_once_per_architecture() -> None:
    assert not set(ALLOWED) & set(DENIED)
    assert {"socket", "socketpair", "clone3", "io_uring_setup", "memfd_create"}.isdisjoint(ALLOWED)
    assert filter_program("x86_64") is filter_program("x86_64")


def test_without_libseccomp_the_filter_is_unavailable_with_a_clear_message() -> None:
    with pytest.raises(
        FilterUnavailable, match=r"^libseccomp is not installed \(on Debian and Ubuntu: apt-get install"
    ):
        load_libseccomp("libseccomp-not-here.so.0")
