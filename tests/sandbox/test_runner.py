"""Sandboxed runs: same transcripts as in-process, warm pool, concurrency, fallback without bwrap."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sqlecho._sandbox.launch import Sandbox
from sqlecho._sandbox.limits import Limits, limit_message
from sqlecho._sandbox.pool import WorkerPool
from sqlecho._sandbox.runner import RunCancelled, run_sandboxed
from sqlecho._trace.options import TraceOptions
from tests.helpers import ROOT

LESSON = """\
# %% [markdown]
# Heroes.

# %% Setup
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite:///heroes.db", echo=True)
SQLModel.metadata.create_all(engine)

# %% Add
hero = Hero(name="Deadpond")
session = Session(engine)
session.add(hero)
session.commit()
print([hero.name for hero in session.exec(select(Hero))])
"""
TIMING = re.compile(r'"(\w+_(?:ms|s))": -?[0-9.e+-]+')


def without_timings(text: str) -> str:
    return TIMING.sub(r'"\1": 0', text)


def outputs(transcript: dict[str, Any]) -> str:
    return "".join(e["text"] for s in transcript["steps"] for e in s["events"] if e["kind"] == "output")


@pytest.fixture(params=["bubblewrap", "limits only"])
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Both ways of starting workers; each with its own tag on the workers' command lines."""
    tag = f"sqlecho-test-{secrets.token_hex(4)}"
    if request.param == "bubblewrap":
        request.getfixturevalue("bwrap")
        confined = Sandbox(tag=tag)
        assert confined.status() == "bubblewrap"
        return confined
    return Sandbox(bwrap=None, tag=tag)


def test_cli_json_is_byte_identical_to_in_process_except_timings(tmp_path: Path) -> None:
    lesson = tmp_path / "lesson.py"
    lesson.write_text(LESSON)

    def cli(*flags: str) -> str:
        command = [sys.executable, "-m", "sqlecho", "trace", lesson.name, "--json", *flags]
        done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert done.returncode == 0 and done.stderr == ""
        return done.stdout

    sandboxed, in_process = cli(), cli("--in-process")
    assert without_timings(sandboxed) == without_timings(in_process)
    assert json.loads(sandboxed)["steps"][-1]["tables"]["hero"]["rows"] == [[1, "Deadpond"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.py"], "nothing written beside it"


def test_same_program_twice_gives_the_same_json(sandbox: Sandbox, tmp_path: Path) -> None:
    program = tmp_path / "sets.py"
    # Set order follows string hashes: the same only if every worker hashes alike.
    program.write_text('print({"alpha", "beta", "gamma", "delta", "epsilon", "zeta"})\n')
    first, second = (
        run_sandboxed(program.read_text(), program, TraceOptions(), "sets.py", sandbox=sandbox)
        for _ in range(2)
    )
    assert first["status"] == "ok"
    assert without_timings(json.dumps(first)) == without_timings(json.dumps(second))


def test_program_folder_is_its_working_directory_and_import_root(sandbox: Sandbox, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "models.py").write_text("GREETING = 'from a sibling module'\n")
    (tmp_path / "data.txt").write_text("read relative to the program\n")
    program = tmp_path / "main.py"
    program.write_text("import models\nprint(models.GREETING)\nprint(open('data.txt').read(), end='')\n")
    transcript = run_sandboxed(program.read_text(), program, TraceOptions(), "main.py", sandbox=sandbox)
    assert transcript["status"] == "ok"
    assert outputs(transcript) == "from a sibling module\nread relative to the program\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt", "main.py", "models.py"]


def test_pasted_code_runs_at_a_path_that_does_not_exist(bwrap: str) -> None:
    folder = Path(tempfile.gettempdir()) / f"sqlecho-pasted-{secrets.token_hex(4)}"
    source = LESSON + "\nimport os\nprint(os.getcwd() == os.path.dirname(__file__))\n"
    transcript = run_sandboxed(source, folder / "program.py", TraceOptions(), "pasted")
    assert transcript["status"] == "ok", transcript["steps"][-1]["error"]
    assert outputs(transcript).endswith("True\n")
    assert not folder.exists()


def test_limits_come_from_the_environment_with_clear_errors() -> None:
    limits = Limits.from_environ({"SQLECHO_LIMIT_WALL_TIME": "2.5", "SQLECHO_LIMIT_MEMORY": "300000000"})
    assert (limits.wall_time, limits.memory, limits.cpu_time) == (2.5, 300_000_000, Limits().cpu_time)
    with pytest.raises(ValueError, match="SQLECHO_LIMIT_OPEN_FILES must be a number, got 'many'"):
        Limits.from_environ({"SQLECHO_LIMIT_OPEN_FILES": "many"})
    with pytest.raises(ValueError, match="limit wall_time must be positive"):
        Limits(wall_time=0)


def test_cli_reports_a_bad_limit_setting_as_an_error_step(tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_text("print('never')\n")
    env = {**os.environ, "SQLECHO_LIMIT_WALL_TIME": "soon"}
    command = [sys.executable, "-m", "sqlecho", "trace", str(program), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    error = json.loads(done.stdout)["steps"][-1]["error"]
    assert error == {
        "type": "SandboxError",
        "message": "SQLECHO_LIMIT_WALL_TIME must be a number, got 'soon'",
        "line": None,
        "expected": False,
    }


def test_without_bwrap_the_status_says_why_and_limits_still_apply(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert Sandbox(bwrap=None).status() == "limits only: bubblewrap turned off"
    assert (
        Sandbox(bwrap=str(tmp_path / "missing")).status() == f"limits only: {tmp_path / 'missing'} not found"
    )
    broken = Sandbox(bwrap=str(fake))
    assert broken.status() == (
        "limits only: bubblewrap cannot create a sandbox here (bwrap: setting up uid map: Permission denied)"
    )
    program = tmp_path / "loop.py"
    program.write_text("print('started')\nwhile True:\n    pass\n")
    limits = Limits(cpu_time=0.5, wall_time=10)
    transcript = run_sandboxed(
        program.read_text(), program, TraceOptions(), "loop", limits=limits, sandbox=broken
    )
    assert transcript["status"] == "limit"
    assert transcript["steps"][-1]["error"]["type"] == "CpuTimeLimitExceeded"
    assert outputs(transcript) == "started\n"


def test_bubblewrap_is_used_when_it_works(bwrap: str) -> None:
    assert Sandbox(bwrap=bwrap).status() == "bubblewrap"


def test_pool_hands_out_warm_workers_and_replaces_them(sandbox: Sandbox, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    first = tmp_path / "first.py"
    first.write_text("import sqlalchemy\nsqlalchemy.LEFT_BEHIND = True\nprint('first')\n")
    second = tmp_path / "second.py"
    second.write_text("import sqlalchemy\nprint(hasattr(sqlalchemy, 'LEFT_BEHIND'))\n")
    with WorkerPool(1, sandbox=sandbox, folders=(tmp_path,)) as pool:
        assert pool.wait_ready()
        assert pool.started == 1
        one = run_sandboxed(first.read_text(), first, TraceOptions(), "first", pool=pool)
        assert pool.wait_ready()
        two = run_sandboxed(second.read_text(), second, TraceOptions(), "second", pool=pool)
        assert pool.warm_runs == 2 and pool.wait_ready() and pool.started == 3
    assert outputs(one) == "first\n"
    assert outputs(two) == "False\n", "each run gets a fresh interpreter"
    assert not _running(sandbox.tag), "closing the pool kills its spare workers"


def test_a_pooled_worker_warms_up_and_the_program_sees_nothing_of_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # A spare worker runs a small ORM program of its own before it is ready (warmup.py): the
    # traced program must find the libraries as a fresh interpreter has them.
    tmp_path.chmod(0o755)
    program = tmp_path / "look.py"
    program.write_text(
        "import gc, pydantic, sqlmodel\n"
        "from sqlalchemy.orm import DeclarativeBase\n"
        "gc.collect()\n"
        "print(sqlmodel.SQLModel.__subclasses__(), dict(sqlmodel.SQLModel.metadata.tables))\n"
        "print(DeclarativeBase.__subclasses__(), pydantic.BaseModel.__subclasses__())\n"
    )
    with WorkerPool(1, sandbox=sandbox, folders=(tmp_path,)) as pool:
        assert pool.wait_ready()
        pooled = run_sandboxed(program.read_text(), program, TraceOptions(), "look", pool=pool)
    alone = run_sandboxed(program.read_text(), program, TraceOptions(), "look", sandbox=sandbox)
    assert outputs(pooled) == outputs(alone) == "[] {}\n[] [<class 'sqlmodel.main.SQLModel'>]\n"


def test_a_worker_started_for_a_sqlite_program_does_not_load_postgresql_s_driver(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # The command line starts a worker for its one program: importing psycopg there would cost
    # a run on SQLite a sixth of its time for nothing.
    tmp_path.chmod(0o755)
    program = tmp_path / "modules.py"
    program.write_text("import sys\nprint(sorted(name for name in sys.modules if 'psycopg' in name))\n")
    alone = run_sandboxed(program.read_text(), program, TraceOptions(), "modules", sandbox=sandbox)
    assert outputs(alone) == "[]\n"


def test_only_a_worker_started_ahead_of_time_warms_up_and_the_warm_up_leaves_nothing_alive(
    tmp_path: Path,
) -> None:
    from sqlecho._sandbox.warmup import warm_up

    program = tmp_path / "p.py"
    program.write_text("print(1)\n")
    spare = Sandbox(bwrap=None).command((tmp_path,), 1 << 20, 3)
    for_program = Sandbox(bwrap=None).command((tmp_path,), 1 << 20, 3, None, program, "print(1)\n")
    for command in (spare, for_program):
        if command.home is not None:
            command.home.rmdir()
    assert spare.argv[-1] == "warm" and for_program.argv[-1] == "-"
    made = warm_up()
    assert len(made) == 5 and all(reference() is None for reference in made)


def test_pool_learns_the_folders_of_the_programs_it_runs(bwrap: str, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "elsewhere").mkdir(mode=0o755)
    program = tmp_path / "elsewhere" / "p.py"
    (tmp_path / "elsewhere" / "data.txt").write_text("beside the program\n")
    program.write_text("print(open('data.txt').read(), end='')\n")
    with WorkerPool(1, sandbox=Sandbox(tag=f"sqlecho-test-{secrets.token_hex(4)}")) as pool:
        assert pool.wait_ready()
        transcript = run_sandboxed(program.read_text(), program, TraceOptions(), "p", pool=pool)
        assert pool.warm_runs == 0 and program.parent in pool.folders
        assert pool.wait_ready()
        again = run_sandboxed(program.read_text(), program, TraceOptions(), "p", pool=pool)
        assert pool.warm_runs == 1, "the spares that replace the old ones can read the new folder"
    assert outputs(transcript) == outputs(again) == "beside the program\n"


def _running(tag: str) -> bool:
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as file:
                if any(tag.encode() in arg for arg in file.read().split(b"\0")):
                    return True
        except (OSError, ValueError):
            continue
    return False


def test_a_cancelled_run_is_killed_at_once_with_everything_it_started(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    tmp_path.chmod(0o755)
    program = tmp_path / "sleeper.py"
    child = f"{sandbox.tag}-child"  # on the child's command line, to find it from outside
    program.write_text(
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)', {child!r}])\n"
        "time.sleep(30)\n"
    )
    cancel = threading.Event()
    with ThreadPoolExecutor(1) as executor:
        run = executor.submit(
            run_sandboxed,
            program.read_text(),
            program,
            TraceOptions(),
            "sleeper",
            sandbox=sandbox,
            cancel=cancel,
        )
        deadline = time.monotonic() + 30
        while not _running(child) and time.monotonic() < deadline and not run.done():
            time.sleep(0.05)
        assert _running(child), "the program started its child"
        cancelled = time.monotonic()
        cancel.set()
        with pytest.raises(RunCancelled):
            run.result(timeout=25)
        stopped = time.monotonic() - cancelled
    # Well under the 30 s the program would sleep (about 0.3 s here; generous for a busy machine).
    assert stopped < 5, f"the run took {stopped:.1f} s to stop"
    assert not _running(sandbox.tag), "the worker and its child are gone"


def test_concurrent_traces_of_lessons_with_the_same_table_each_get_their_own(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    tmp_path.chmod(0o755)
    programs = {}
    for number in range(4):
        program = tmp_path / f"lesson{number}.py"
        column = f"power_{number}: int = {number}"
        program.write_text(
            LESSON.replace("    name: str\n", f"    name: str\n    {column}\n").replace(
                'Hero(name="Deadpond")', f'Hero(name="hero {number}")'
            )
        )
        programs[number] = program
    barrier = threading.Barrier(4)
    with WorkerPool(2, sandbox=sandbox, folders=(tmp_path,)) as pool:

        def trace(number: int) -> dict[str, Any]:
            barrier.wait()
            program = programs[number]
            return run_sandboxed(program.read_text(), program, TraceOptions(), program.name, pool=pool)

        with ThreadPoolExecutor(4) as threads:
            transcripts = list(threads.map(trace, range(4)))
    for number, transcript in enumerate(transcripts):
        assert transcript["status"] == "ok" and transcript["source"] == f"lesson{number}.py"
        table = transcript["steps"][-1]["tables"]["hero"]
        assert table["columns"] == ["id", "name", f"power_{number}"]
        assert table["rows"] == [[1, f"hero {number}", number]]


def test_every_limit_and_setting_is_documented() -> None:
    text = (ROOT / "docs" / "sandbox.md").read_text(encoding="utf-8")
    for item in dataclasses.fields(Limits):
        row = next((line for line in text.splitlines() if line.startswith(f"| `{item.name}`")), None)
        assert row is not None, f"limit {item.name} is not in docs/sandbox.md"
        default = limit_message(item.name, Limits()).rpartition(" = ")[2].rstrip(").")
        assert f" {default} " in row, f"docs/sandbox.md gives another default for {item.name}: {row}"
    for variable in (
        "SQLECHO_LIMIT_<NAME>",
        "SQLECHO_POOL_SIZE",
        "SQLECHO_WORKER_TAG",
        "SQLECHO_ALLOW_USER_CODE",
    ):
        assert f"`{variable}" in text, variable
