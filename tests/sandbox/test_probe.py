"""Whether bubblewrap works is probed once per boot, and a success that no longer holds is forgotten."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlecho._sandbox.launch import Sandbox
from sqlecho._sandbox.probe import ProbeMemory
from sqlecho._sandbox.runner import run_sandboxed
from sqlecho._trace.options import TraceOptions


def _fake_bwrap(folder: Path, *, worker_fails: bool = False, probe_fails: bool = False) -> tuple[Path, Path]:
    """A stand-in for bubblewrap that notes each call; it "fails" as told, with bubblewrap's words."""
    calls = folder / "calls"
    script = folder / "bwrap"
    script.write_text(
        "#!/bin/sh\n"
        f"echo call >> {calls}\n"
        'case "$*" in\n'
        f"  *sqlecho._sandbox.worker*) {'echo bwrap: Creating new namespace failed >&2; exit 1' if worker_fails else 'exit 1'} ;;\n"
        f"  *) {'echo bwrap: No permissions >&2; exit 1' if probe_fails else 'exit 0'} ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    return script, calls


def test_a_successful_probe_is_remembered_and_not_run_again(tmp_path: Path) -> None:
    bwrap, calls = _fake_bwrap(tmp_path)
    memory = ProbeMemory(tmp_path / "cache" / "probes")
    assert Sandbox(bwrap=str(bwrap), probe_memory=memory).status() == "bubblewrap"
    assert calls.read_text() == "call\n"
    assert memory.remembers(str(bwrap), sys.executable)
    assert Sandbox(bwrap=str(bwrap), probe_memory=memory).status() == "bubblewrap"
    assert calls.read_text() == "call\n", "the second process trusts the first one's probe"
    assert Sandbox(bwrap=str(bwrap)).status() == "bubblewrap"
    assert calls.read_text() == "call\ncall\n", "without a memory every process probes"


def test_a_failed_probe_is_not_remembered(tmp_path: Path) -> None:
    bwrap, calls = _fake_bwrap(tmp_path, probe_fails=True)
    memory = ProbeMemory(tmp_path / "probes")
    for _ in range(2):
        status = Sandbox(bwrap=str(bwrap), probe_memory=memory).status()
        assert status == "limits only: bubblewrap cannot create a sandbox here (bwrap: No permissions)"
    assert calls.read_text() == "call\ncall\n"
    assert not memory.remembers(str(bwrap), sys.executable)


def test_a_memory_in_a_folder_others_may_write_or_of_another_file_does_not_count(tmp_path: Path) -> None:
    bwrap, _ = _fake_bwrap(tmp_path)
    memory = ProbeMemory(tmp_path / "probes")
    memory.remember(str(bwrap), sys.executable)
    assert memory.remembers(str(bwrap), sys.executable)
    (tmp_path / "probes").chmod(0o777)
    assert not memory.remembers(str(bwrap), sys.executable)
    (tmp_path / "probes").chmod(0o700)
    bwrap.write_text(bwrap.read_text() + "# a new version\n")
    assert not memory.remembers(str(bwrap), sys.executable), "a changed bubblewrap is probed again"


def test_a_remembered_bubblewrap_that_fails_fails_the_run_closed_and_is_forgotten(tmp_path: Path) -> None:
    bwrap, _ = _fake_bwrap(tmp_path, worker_fails=True)
    memory = ProbeMemory(tmp_path / "probes")
    sandbox = Sandbox(bwrap=str(bwrap), probe_memory=memory)
    program = tmp_path / "p.py"
    program.write_text("print('hello')\n")
    tmp_path.chmod(0o755)
    transcript = run_sandboxed(program.read_text(), program, TraceOptions(), "p.py", sandbox=sandbox)
    error = transcript["steps"][-1]["error"]
    assert transcript["status"] == "error" and error["type"] == "SandboxError"
    assert error["message"] == "The sandbox did not start: bwrap: Creating new namespace failed"
    assert not memory.remembers(str(bwrap), sys.executable)


def test_the_memory_lives_in_the_cache_folder_and_is_off_with_it(tmp_path: Path) -> None:
    assert ProbeMemory.in_cache({"SQLECHO_CACHE_DIR": str(tmp_path)}) == ProbeMemory(tmp_path / "probes")
    assert ProbeMemory.in_cache({"SQLECHO_CACHE_DIR": "off"}) is None
