"""The CPU quota of a run: every process of one run shares ``SQLECHO_RUN_CPU`` cores."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from sqlecho._sandbox.cgroup import (
    CPU_PERIOD_US,
    DEFAULT_RUN_CPU,
    RUN_CPU_WEIGHT,
    CgroupSupport,
    RunCgroup,
    run_cpu_from_environ,
)


def test_a_v2_group_gets_cpu_max_and_a_v1_group_a_cfs_quota(tmp_path: Path) -> None:
    """Written into a stand-in tree (folders and files are all a control group is to us)."""
    v2 = CgroupSupport(2, tmp_path, tmp_path).with_cpu(tmp_path, 0.25, "")
    group = RunCgroup.create(v2, memory=1 << 20, tasks=8)
    assert isinstance(group, RunCgroup)
    assert not (group.folders[0] / "cpu.max").exists()  # the worker's start-up runs at full speed
    group.confine_cpu()  # a lesson's job starts: the quota, at the normal weight
    assert (group.folders[0] / "cpu.max").read_text() == f"50000 {CPU_PERIOD_US}"
    assert not (group.folders[0] / "cpu.weight").exists()
    group.confine_cpu(yielding=True)  # a pasted program's: it yields to the server
    assert (group.folders[0] / "memory.max").read_text() == str(1 << 20)
    assert (group.folders[0] / "cpu.weight").read_text() == str(RUN_CPU_WEIGHT)  # the server goes first
    for name in ("memory", "pids", "cpu"):
        (tmp_path / name).mkdir()
    v1 = CgroupSupport(1, tmp_path / "memory", tmp_path / "pids").with_cpu(tmp_path / "cpu", 1.5, "")
    group = RunCgroup.create(v1, memory=1 << 20, tasks=8)
    assert isinstance(group, RunCgroup)
    group.confine_cpu(yielding=True)
    cpu_folder = group.folders[2]
    assert cpu_folder.parent == tmp_path / "cpu"
    assert (cpu_folder / "cpu.cfs_quota_us").read_text() == "300000"
    assert (cpu_folder / "cpu.cfs_period_us").read_text() == str(CPU_PERIOD_US)
    assert (cpu_folder / "cpu.shares").read_text() == "102"
    assert str(cpu_folder / "cgroup.procs") in group.procs_files  # the worker joins it too


def test_without_a_cpu_controller_the_status_says_so(tmp_path: Path) -> None:
    for name in ("memory", "pids"):
        (tmp_path / name).mkdir()
    support = CgroupSupport(1, tmp_path / "memory", tmp_path / "pids").with_cpu(
        None, 1, "no cgroup v1 cpu controller is mounted"
    )
    assert support.describe() == (
        "one memory and process limit per run (cgroup v1); no CPU quota: no cgroup v1 cpu controller is mounted"
    )
    group = RunCgroup.create(support, memory=1 << 20, tasks=8)
    assert isinstance(group, RunCgroup) and len(group.folders) == 2
    group.confine_cpu()  # nothing to confine
    assert not list((tmp_path / "memory").rglob("cpu.*"))
    with_quota = CgroupSupport(2, tmp_path, tmp_path).with_cpu(tmp_path, 0.5, "")
    assert with_quota.describe() == "one memory, process and CPU limit per run (0.5 core, cgroup v2)"
    off = CgroupSupport(2, tmp_path, tmp_path).with_cpu(tmp_path, 0, "")
    assert off.describe().endswith("no CPU quota: turned off by SQLECHO_RUN_CPU=0")
    assert (
        CgroupSupport(0, why="no cgroup v2 hierarchy").describe()
        == "limits per process only: no cgroup v2 hierarchy"
    )


@pytest.mark.parametrize(
    ("value", "cores"), [("", DEFAULT_RUN_CPU), ("0.25", 0.25), ("2", 2.0), ("0", 0.0), ("off", 0.0)]
)
def test_the_quota_setting(value: str, cores: float) -> None:
    assert run_cpu_from_environ({"SQLECHO_RUN_CPU": value}) == cores


@pytest.mark.parametrize("value", ["half", "-1", "0.001", "nan", "inf", "5000"])
def test_a_bad_quota_setting_is_one_line(value: str) -> None:
    with pytest.raises(
        ValueError, match=r"^SQLECHO_RUN_CPU=.* is not a number of cores from 0.01 to 1024"
    ) as info:
        run_cpu_from_environ({"SQLECHO_RUN_CPU": value})
    assert "\n" not in str(info.value)


# Three processes spin for 1.5 s of wall time; the run reports the CPU time all of them used.
SPINNERS = """\
import os, resource, time
def spin():
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        pass
children = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        spin()
        os._exit(0)
    children.append(pid)
started = time.monotonic()
spin()
for pid in children:
    os.waitpid(pid, 0)
wall = time.monotonic() - started
used = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
           for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(f"cores {used / wall:.3f}")
"""


def _cores_used(program: Path, cores: str) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", str(program), "--json"],
        capture_output=True,
        env={
            **os.environ,
            "SQLECHO_WORKER_TAG": f"sqlecho-test-{secrets.token_hex(4)}",
            "SQLECHO_RUN_CPU": cores,
            "SQLECHO_LIMIT_WALL_TIME": "30",
            "SQLECHO_LIMIT_CPU_TIME": "30",
        },
        cwd=program.parent,
        timeout=120,
    )
    transcript = json.loads(done.stdout)
    printed = [e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output"]
    assert printed and printed[-1].startswith("cores "), (transcript["status"], done.stderr)
    return float(printed[-1].split()[1])


@pytest.mark.sandbox
@pytest.mark.usefixtures("run_cgroup")
def test_every_process_of_a_run_shares_its_quota(tmp_path: Path) -> None:
    program = tmp_path / "spinners.py"
    program.write_text(SPINNERS)
    tmp_path.chmod(0o755)
    # A tenth of a core for three spinners: about 0.1 in all (the first period may run whole).
    assert _cores_used(program, "0.1") < 0.2
