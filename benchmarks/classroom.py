"""A class of students against a real app server: what being in a class costs each step.

    python -m benchmarks.classroom --students 200

Runs the same class twice on a fresh ``streamlit run app.py`` each time, with the benchmark's
websocket client (:mod:`benchmarks.client`): every student opens a lesson of their own, then
all of them step through it together, pausing like readers, and answer each step's question
(predict mode; a seeded mix of right and wrong). The first run is nobody in a class; in the
second every student first joins one class (the join form, with a nickname), so that every
step and answer is recorded, and a teacher's tab watches the class on the teacher page, whose
view reads the class again every two seconds.

Figures (JSON on stdout):

- ``session_step_ms_p95`` without and with the class, and their ratio (goal: within 10%);
- ``teacher_refresh_ms_p95``: the teacher view's refreshes while the class works (goal: <= 500
  ms): each the round trip of the live view's rerun, as the browser asks for it every 2 s;
- ``records_written``: rows the class database holds at the end (students' answers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import Tab
from .server import AppServer
from .stats import percentile
from .workload import write_program

__all__ = ["ClassPlan", "measure_class"]

ROOT = Path(__file__).resolve().parent.parent

_HEAD = """\
# %% [markdown]
# # {title}

# %% Setup
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    age: int | None = None


engine = create_engine("sqlite://")
SQLModel.metadata.create_all(engine)
session = Session(engine)
"""

_CELL = """\
# %% [markdown]
# Step {n}: add a hero and commit.
#
# Expect: 1 INSERT (flush), 1 COMMIT

# %% Hero {n}
session.add(Hero(name="hero {n}", age={n}))
session.commit()
"""


def class_lesson(cells: int, title: str) -> str:
    """A lesson whose every step after the setup asks two questions (INSERTs, COMMITs)."""
    return "\n".join([_HEAD.format(title=title), *(_CELL.format(n=n) for n in range(1, cells + 1))])


@dataclass(frozen=True)
class ClassPlan:
    students: int = 200
    steps: int = 6
    """Pages each student shows; steps 2.. each get an answer."""
    think_s: float = 3.0
    """Mean pause before each step and each answer (0.5x-1.5x, seeded)."""
    lessons: int = 20
    timeout_s: float = 60.0
    deadline_s: float = 900.0


def _ids(data: bytes, found: dict[str, str]) -> None:
    """The widget ids of one ForwardMsg, by the user key they end with (or the label of a
    form's submit button)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    message = ForwardMsg()
    message.ParseFromString(data)
    if message.WhichOneof("type") != "delta":
        return
    element = message.delta.new_element
    kind = element.WhichOneof("type")
    if kind in ("button", "text_input", "number_input"):
        widget = getattr(element, kind)
        found[widget.id.split("-", 2)[-1]] = widget.id  # "$$ID-<hash>-<user key>"
        if kind == "button" and widget.is_form_submitter:
            found[f"submit:{widget.form_id}"] = widget.id


@dataclass
class Student(Tab):
    """A tab that joins a class first (when given its code) and answers every step's question."""

    code: str | None = None
    answer_ms: list[float] = field(default_factory=list)
    joined: bool = False
    _widgets: dict[str, str] = field(default_factory=dict)

    async def _rerun(self, query: str, states: list[tuple[str, str, Any]], timeout: float) -> float | None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        request = BackMsg()
        request.rerun_script.query_string = query
        request.rerun_script.page_script_hash = self._page
        request.rerun_script.widget_states.SetInParent()
        for widget_id, kind, value in states:
            state = request.rerun_script.widget_states.widgets.add()
            state.id = widget_id
            setattr(state, kind, value)
        started = time.perf_counter()
        await self._socket.send(request.SerializeToString())
        self._widgets.clear()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    data = await self._socket.recv()
                    message = ForwardMsg()
                    message.ParseFromString(data)
                    kind = message.WhichOneof("type")
                    if kind == "new_session":
                        self._page = message.new_session.page_script_hash
                    elif kind == "delta":
                        _ids(data, self._widgets)
                        if b"In class **" in data:
                            self.joined = True
                    elif kind == "script_finished":
                        break
        except TimeoutError:
            self.errors.append(f"{query}: no answer within {timeout:g} s")
            return None
        return (time.perf_counter() - started) * 1000

    async def show(self, step: int, timeout: float) -> float | None:
        query = f"lesson={self.stem}&step={step}" + (f"&class={self.code}" if self.code else "")
        return await self._rerun(query, [], timeout)

    async def join(self, timeout: float) -> None:
        query = f"lesson={self.stem}&step=1&class={self.code}"
        nickname = self._widgets.get("w_class_nickname")
        submit = self._widgets.get("submit:class_join_form")
        if nickname is None or submit is None:
            self.errors.append("join: no join form on the page")
            return
        states = [(nickname, "string_value", f"student {self.seed}"), (submit, "trigger_value", True)]
        await self._rerun(query, states, timeout)
        if not self.joined:
            self.errors.append("join: the page did not say the student is in the class")

    async def answer(self, step: int, timeout: float) -> None:
        """Answer step ``step``'s two questions (right, or one wrong: a seeded mix)."""
        form = f"predict_{self.stem}_{step - 1}"
        fields = [self._widgets.get(f"{form}_{n}") for n in range(2)]
        submit = self._widgets.get(f"submit:{form}")
        if None in fields or submit is None:
            self.errors.append(f"step {step}: no question on the page")
            return
        wrong = random.Random(self.seed * 1000 + step).random() < 0.3
        states = [(fields[0], "int_value", 2 if wrong else 1), (fields[1], "int_value", 1)]
        states.append((submit, "trigger_value", True))
        query = f"lesson={self.stem}&step={step}" + (f"&class={self.code}" if self.code else "")
        elapsed = await self._rerun(query, states, timeout)
        if elapsed is not None:
            self.answer_ms.append(elapsed)


async def _student(tab: Student, url: str, plan: ClassPlan, ready: list[int], start: asyncio.Event) -> None:
    rng = random.Random(tab.seed)
    try:
        try:
            await tab.connect(url)
            tab.opened_ms = await tab.show(1, plan.timeout_s)
            if tab.opened_ms is not None and tab.code:
                await tab.join(plan.timeout_s)
        finally:
            ready[0] += 1  # everyone opens (and joins) first; then all step together
            if ready[0] == ready[1]:
                start.set()
        await start.wait()
        if tab.opened_ms is None or tab.errors:
            return
        for step in range(2, plan.steps + 1):
            await asyncio.sleep(plan.think_s * rng.uniform(0.5, 1.5))
            elapsed = await tab.show(step, plan.timeout_s)
            if elapsed is None:
                return
            tab.step_ms.append(elapsed)
            await asyncio.sleep(plan.think_s * rng.uniform(0.5, 1.5))
            await tab.answer(step, plan.timeout_s)
    except Exception as exc:  # noqa: BLE001 - one broken tab must not end the others
        tab.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        await tab.close()


async def _teacher(url: str, code: str, key: str, stop: asyncio.Event, samples: list[float]) -> None:
    """The teacher page, open while the class works, refreshed as a browser does it: the page
    asks for auto-reruns of its live fragment (``auto_rerun``), and each refresh is a
    ``rerun_script`` of that fragment; its round trip is one sample."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as socket:  # type: ignore[list-item]
        page = ""
        fragment, interval = "", 2.0

        async def rerun(fragment_id: str) -> float:
            nonlocal page, fragment, interval
            request = BackMsg()
            request.rerun_script.query_string = f"class={code}&key={key}"
            request.rerun_script.page_name = "teacher"
            request.rerun_script.page_script_hash = page
            request.rerun_script.fragment_id = fragment_id
            request.rerun_script.is_auto_rerun = bool(fragment_id)
            request.rerun_script.widget_states.SetInParent()
            started = time.perf_counter()
            await socket.send(request.SerializeToString())
            while True:
                message = ForwardMsg()
                message.ParseFromString(await asyncio.wait_for(socket.recv(), 60))
                kind = message.WhichOneof("type")
                if kind == "new_session":
                    page = message.new_session.page_script_hash
                elif kind == "auto_rerun":
                    fragment, interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
                elif kind == "script_finished":
                    return (time.perf_counter() - started) * 1000

        await rerun("")
        while not stop.is_set() and fragment:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if not stop.is_set():
                samples.append(await rerun(fragment))


async def _class(
    server: AppServer, tabs: list[Student], plan: ClassPlan, teacher: tuple[str, str] | None
) -> tuple[list[float], float | None]:
    start = asyncio.Event()
    stop = asyncio.Event()
    refreshes: list[float] = []
    watcher = asyncio.create_task(_teacher(server.stream_url, *teacher, stop, refreshes)) if teacher else None
    cpu: list[float | None] = []

    async def when_all_are_in() -> None:  # the server's CPU counts from the moment all step
        await start.wait()
        cpu.append(server.cpu_seconds())

    counter = asyncio.create_task(when_all_are_in())
    async with asyncio.timeout(plan.deadline_s):
        ready = [0, len(tabs)]
        await asyncio.gather(*(_student(tab, server.stream_url, plan, ready, start) for tab in tabs))
    stop.set()
    await counter
    used = server.cpu_seconds()
    if watcher is not None:
        await watcher
    return refreshes, (used - cpu[0] if used is not None and cpu and cpu[0] is not None else None)


def _run(plan: ClassPlan, folder: Path, in_class: bool) -> dict[str, Any]:
    lessons = folder / "lessons"
    lessons.mkdir(parents=True, exist_ok=True)
    for number in range(plan.lessons):
        write_program(
            lessons, f"{number:03d}_class_{number}.py", class_lesson(plan.steps, f"Lesson {number}")
        )
    db = folder / ("class.db" if in_class else "unused.db")
    env = {
        "SQLECHO_LESSONS": str(lessons),
        "SQLECHO_CACHE_DIR": str(folder / "transcripts"),
        "SQLECHO_CLASS_DB": f"sqlite:///{db}",
    }
    teacher = None
    code = None
    if in_class:
        from sqlecho._app.classroom.store import ClassStore

        store = ClassStore.from_url(env["SQLECHO_CLASS_DB"])
        info, key = store.start_class()
        code, teacher = info.code, (info.code, key)
    tabs = [
        Student(f"{n % plan.lessons:03d}_class_{n % plan.lessons}", plan.steps + 1, seed=n, code=code)
        for n in range(plan.students)
    ]
    with AppServer(ROOT / "app.py", env, folder / f"server-{'class' if in_class else 'alone'}.log") as server:
        warm = Student(tabs[0].stem, plan.steps + 1, seed=-1)  # the lessons traced before the class
        asyncio.run(_warm(server, warm, plan))
        time.sleep(min(60.0, 2.0 * plan.lessons))
        refreshes, cpu_s = asyncio.run(_class(server, tabs, plan, teacher))
    steps = [ms for tab in tabs for ms in tab.step_ms]
    answers = [ms for tab in tabs for ms in tab.answer_ms]
    result: dict[str, Any] = {
        "students": plan.students,
        "joined": sum(tab.joined for tab in tabs),
        "step_samples": len(steps),
        "session_step_ms_p50": round(percentile(steps, 50), 1) if steps else None,
        "session_step_ms_p95": round(percentile(steps, 95), 1) if steps else None,
        "answer_ms_p95": round(percentile(answers, 95), 1) if answers else None,
        "server_cpu_s_while_stepping": round(cpu_s, 1) if cpu_s is not None else None,
        "errors": [f"{tab.stem}: {tab.errors[0]}" for tab in tabs if tab.errors][:5],
    }
    if in_class:
        result["teacher_refreshes"] = len(refreshes)
        result["teacher_refresh_ms_p95"] = round(percentile(refreshes, 95), 1) if refreshes else None
        import sqlalchemy

        engine = sqlalchemy.create_engine(env["SQLECHO_CLASS_DB"])
        with engine.connect() as connection:
            result["records_written"] = int(
                connection.execute(sqlalchemy.text("SELECT count(*) FROM sqlecho_class_answer")).scalar_one()
            )
        engine.dispose()
    return result


async def _warm(server: AppServer, tab: Student, plan: ClassPlan) -> None:
    await tab.connect(server.stream_url)
    await tab.show(1, 300.0)
    await tab.close()


def measure_class(plan: ClassPlan, folder: Path) -> dict[str, Any]:
    """Both runs, and how they compare."""
    alone = _run(plan, folder / "alone", in_class=False)
    in_class = _run(plan, folder / "class", in_class=True)
    ratio = None
    if alone["session_step_ms_p95"] and in_class["session_step_ms_p95"]:
        ratio = round(in_class["session_step_ms_p95"] / alone["session_step_ms_p95"], 3)
    return {
        "without_class": alone,
        "with_class": in_class,
        "step_p95_ratio": ratio,
        "goals": {"step_p95_ratio": "<= 1.10", "teacher_refresh_ms_p95": "<= 500"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.classroom", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--students", type=int, default=ClassPlan.students)
    parser.add_argument("--steps", type=int, default=ClassPlan.steps)
    parser.add_argument("--think", type=float, default=ClassPlan.think_s, help="mean pause, seconds")
    parser.add_argument("--lessons", type=int, default=ClassPlan.lessons)
    args = parser.parse_args(argv)
    if args.students < 1 or args.steps < 2 or args.lessons < 1:
        parser.error("--students and --lessons must be 1 or more, --steps 2 or more")
    plan = ClassPlan(students=args.students, steps=args.steps, think_s=args.think, lessons=args.lessons)
    with tempfile.TemporaryDirectory(prefix="sqlecho-class-bench-") as folder:
        print(json.dumps(measure_class(plan, Path(folder)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
