"""A sandboxed program that reaches into the tracer gets a transcript marked as tampered, set by
the server from the supervisor's word, and ``check`` fails it; ordinary programs are not marked."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sqlecho import trace
from sqlecho._sandbox.launch import Sandbox
from sqlecho._sandbox.pool import WorkerPool
from sqlecho._sandbox.runner import run_sandboxed
from sqlecho._trace.options import TraceOptions
from sqlecho._transcript.validate import InvalidMessage, check_done
from tests.helpers import LESSONS

pytestmark = pytest.mark.sandbox

TEACHER = """\
# %% Setup
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
session.add(Hero(name="Ada"))
session.commit()

# %% Count tags=["exercise"] check="select == 1; prints 'heroes: 1'" hint="One query."
heroes = session.exec(select(Hero)).all()
print("heroes:", len(heroes))
"""
# Two SELECTs where one is asked for, and a patched Channel.send (on every Channel class, the
# running worker's included) that drops every SQL event of a step but its first.
FORGER = TEACHER.replace(
    "# %% Setup\n",
    """\
# %% Setup
import gc

import sqlecho._sandbox.worker

for channel in [o for o in gc.get_objects() if isinstance(o, type) and o.__name__ == "Channel"]:
    original = channel.send

    def send(self, message, original=original):
        step = message.get("step")
        if step:
            sql = [e for e in step["events"] if e["kind"] == "sql"]
            step["events"] = [e for e in step["events"] if e["kind"] != "sql" or e is sql[0]]
        original(self, message)

    channel.send = send
""",
).replace(
    "heroes = session.exec(select(Hero)).all()\n",
    "heroes = session.exec(select(Hero)).all()\nheroes = session.exec(select(Hero)).all()\n",
)


def _check(folder: Path, *flags: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "check", "student.py", "--against", "teacher.py", *flags],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "SQLECHO_WORKER_TAG": f"sqlecho-test-{secrets.token_hex(4)}"},
        timeout=120,
    )
    assert done.stderr == "", done.stderr
    return done.returncode, done.stdout


@pytest.fixture(params=[0o755, 0o700], ids=["folder-755", "folder-700"])
def graded(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "teacher.py").write_text(TEACHER)
    (folder / "student.py").write_text(FORGER)
    folder.chmod(request.param)
    return folder


@pytest.mark.usefixtures("bwrap")
def test_a_program_that_patches_the_channel_is_marked_and_check_against_fails(graded: Path) -> None:
    code, text = _check(graded)
    assert code == 1
    assert "FAIL  the run was tampered with: the program imported sqlecho._sandbox.worker" in text
    code, document = _check(graded, "--json")
    report = json.loads(document)
    assert code == 1 and report["passed"] is False
    assert report["tampered"] == "the program imported sqlecho._sandbox.worker"
    junit = graded.parent / "report.xml"
    code, _ = _check(graded, "--junit-xml", str(junit))
    suite = ET.parse(junit).getroot().find("testsuite")
    assert code == 1 and suite is not None and suite.get("errors") == "1"
    case = suite.find("testcase[@name='the run is not tampered with']")
    assert case is not None and case.find("error") is not None
    # The trace's text says so too.
    done = subprocess.run(
        [sys.executable, "-m", "sqlecho", "trace", "student.py"],
        capture_output=True,
        text=True,
        cwd=graded,
        timeout=120,
    )
    assert "TAMPERED: the program reached into the tracer (imported sqlecho._sandbox.worker)" in done.stdout


# Each program takes one way into the tracer; the reason it must be marked with.
WAYS_IN = {
    "import sqlecho": "imported sqlecho",
    "import sqlecho._record.recorder": "imported sqlecho._record.recorder",
    "import gc\ngc.get_referrers(print)": "called gc.get_referrers",
    "import gc\nlen(gc.get_objects())": "called gc.get_objects",
    "import ctypes\nctypes.CDLL(None).getpid()": "used ctypes (ctypes.dlopen)",
    "import sys\nsys._current_frames()": "called sys._current_frames",
    "import sys\nsys._getframe(1).f_locals": "took a frame of the tracer (sys._getframe)",
    # The hook's pipe closed first (one cell: no step is sent in between, on a channel that is
    # closed too): the worker ends with the status that says so.
    "# %% Close\nimport os\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\n"
    "import sqlecho": "took away the tracer's way to report tampering, then tampered",
}
ORDINARY = [
    # Frames and tracebacks of the program's own, libraries reading frames (pydantic, typing).
    "import sys, traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError as exc:\n"
    "    traceback.format_exception(exc)\n    frame = exc.__traceback__.tb_frame\nsys._getframe(0)\n"
    "from sqlmodel import SQLModel\nclass Plain(SQLModel):\n    x: int = 1\n",
]


def _traced(pool: WorkerPool, folder: Path, number: int, source: str) -> dict[str, Any]:
    program = folder / f"way{number}.py"
    program.write_text(source)
    return run_sandboxed(source, program, TraceOptions(), program.name, pool=pool)


@pytest.mark.usefixtures("bwrap")
def test_each_way_into_the_tracer_is_marked_and_ordinary_programs_are_not(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    sandbox = Sandbox(tag=f"sqlecho-test-{secrets.token_hex(4)}")
    with WorkerPool(2, sandbox=sandbox, folders=(tmp_path, LESSONS)) as pool:
        for number, (source, reason) in enumerate(WAYS_IN.items()):
            transcript = _traced(pool, tmp_path, number, source)
            assert transcript.get("tampered") == {"reason": reason}, (
                source,
                transcript["steps"][-1]["error"],
            )
        for number, source in enumerate(ORDINARY):
            transcript = _traced(pool, tmp_path, 100 + number, source)
            assert transcript["status"] == "ok", transcript["steps"][-1]["error"]
            assert "tampered" not in transcript
        lesson = LESSONS / "18_lazy_loading_n_plus_1.py"
        source = lesson.read_text(encoding="utf-8")
        transcript = run_sandboxed(source, lesson, TraceOptions(), lesson.name, pool=pool)
        assert transcript["status"] == "ok" and "tampered" not in transcript


def test_a_worker_cannot_put_the_mark_in_its_own_transcript(tmp_path: Path) -> None:
    """The field comes from the server alone: a worker's transcript that has one is refused."""
    program = tmp_path / "plain.py"
    program.write_text("print('hello')\n")
    transcript = trace(program)
    done = {**transcript, "steps": len(transcript["steps"])}
    check_done(done, steps_received=len(transcript["steps"]))
    with pytest.raises(InvalidMessage, match="tampered"):
        check_done({**done, "tampered": {"reason": "none"}}, steps_received=len(transcript["steps"]))
