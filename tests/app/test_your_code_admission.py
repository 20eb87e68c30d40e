"""The "Your code" page's server-wide rules: its place in the queue of runs, a full queue, and
no pasted code without a working sandbox unless the operator says so.

The page gets its sandbox status, admission and trace cache from the test (a cache whose runner
traces in this process: what is under test is the page, not the sandbox).
"""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from sqlecho._app.config import AppConfig
from sqlecho._app.traces import TraceCache
from sqlecho._app.your_code_page import CANCELLED, UNSANDBOXED_WARNING
from sqlecho._sandbox.admission import Admission, AdmissionLimits
from sqlecho._trace.tracer import in_process
from tests.helpers import ROOT

MiB = 1024 * 1024
WORKING = "bubblewrap; one memory, process and CPU limit per run (0.5 core, cgroup v1)"
BROKEN = "limits only: bwrap not found; one memory, process and CPU limit per run (0.5 core, cgroup v1)"
PROGRAM = "x = 1\nprint(x)\n"


def _page(*args: object) -> None:  # run as a script: annotations of builtins only
    from sqlecho._app.your_code_page import user_code_page

    config, status, admission, cache = args
    user_code_page(config, status=status, admission=admission, cache=cache)  # type: ignore[arg-type]


def _app(admission: Admission, status: str = WORKING, **settings: Any) -> AppTest:
    config = AppConfig(ROOT / "tests" / "fixtures" / "lessons", **settings)
    return AppTest.from_function(
        _page, args=(config, status, admission, TraceCache(in_process)), default_timeout=30
    ).run()


def _run(at: AppTest, code: str = PROGRAM) -> AppTest:
    at.text_area(key="w_user_code").set_value(code)
    return at.button(key="user_run_button").click().run()


def _counter(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Step ")]


def test_a_run_waits_for_its_place_and_is_told_how_many_are_ahead() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=4096 * MiB, queue=10))
    held = [admission.enter(512 * MiB) for _ in range(3)]  # one running, two waiting
    at = _run(_app(admission))
    assert not at.exception
    assert [info.value for info in at.info] == ["Waiting for a free place: 2 runs ahead of yours."]
    assert at.button(key="user_cancel_button").label == "Cancel"
    assert admission.waiting == 3 and not _counter(at)
    for ticket in held:
        ticket.leave()
    at.run()  # its turn came: the page runs it
    assert not at.exception and not at.info
    assert _counter(at) == ["**Step 1 of 2**"]
    assert admission.running == 0 and admission.waiting == 0  # the place was given back


def test_cancel_gives_the_place_in_the_queue_up() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=4096 * MiB, queue=10))
    held = admission.enter(512 * MiB)
    at = _run(_app(admission))
    assert [info.value for info in at.info] == ["Waiting for a free place: yours is next."]
    at.button(key="user_cancel_button").click().run()
    assert [info.value for info in at.info] == [CANCELLED]
    assert admission.waiting == 0
    held.leave()
    assert admission.running == 0  # the cancelled run never took the place


def test_a_full_queue_refuses_with_a_message() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=4096 * MiB, queue=1))
    held = [admission.enter(512 * MiB), admission.enter(512 * MiB)]
    at = _run(_app(admission))
    assert [w.value for w in at.warning] == [
        "The server is busy: 1 run is waiting already, as many as it lets wait. Try again in a minute."
    ]
    assert not _counter(at) and admission.waiting == 1
    for ticket in held:
        ticket.leave()


def test_without_a_working_sandbox_the_page_is_off_and_says_why() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=4096 * MiB))
    at = _app(admission, BROKEN)
    assert [info.value for info in at.info] == [
        "Tracing your own code is off on this server: the sandbox does not work here (bwrap not found). "
        "The operator can install bubblewrap (see docs/sandbox.md), or set "
        "SQLECHO_UNSANDBOXED_CODE=1 to run programs without it."
    ]
    assert not at.text_area and not at.button


def test_the_operator_can_run_code_without_a_sandbox_with_a_visible_warning() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=4096 * MiB))
    at = _app(admission, BROKEN, unsandboxed_code=True)
    assert [w.value for w in at.warning] == [UNSANDBOXED_WARNING]
    at = _run(at)
    assert not at.exception and _counter(at) == ["**Step 1 of 2**"]
    assert UNSANDBOXED_WARNING in [w.value for w in at.warning]


def test_a_working_sandbox_shows_no_warning() -> None:
    at = _app(Admission(AdmissionLimits(runs=1, memory=4096 * MiB)), WORKING)
    assert not at.warning and not at.info and at.text_area
    assert "bubblewrap sandbox" in at.caption[0].value


def test_the_unsandboxed_setting() -> None:
    folder = ROOT / "lessons"
    assert not AppConfig.from_env({}, folder).unsandboxed_code
    assert AppConfig.from_env({"SQLECHO_UNSANDBOXED_CODE": "1"}, folder).unsandboxed_code
    config = AppConfig.from_env({"SQLECHO_UNSANDBOXED_CODE": "please"}, folder)
    assert not config.unsandboxed_code
    assert config.problems == (
        "SQLECHO_UNSANDBOXED_CODE='please' is not 0 or 1; without a sandbox, pasted code stays off.",
    )
    config = AppConfig.from_env({"SQLECHO_RUNS": "3", "SQLECHO_RUN_QUEUE": "many"}, folder)
    assert config.admission.runs == 3 and config.admission.queue == 50
    assert config.problems == (
        "SQLECHO_RUN_QUEUE='many' is not a whole number of runs, 0 or more; using 50.",
    )
