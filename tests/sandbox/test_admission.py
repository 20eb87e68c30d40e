"""Server-wide admission: runs at once, their memory together, and the queue of the others."""

from __future__ import annotations

import threading

import pytest

from sqlecho._sandbox.admission import (
    Admission,
    AdmissionLimits,
    AdmissionRefused,
    machine_memory,
    place_message,
)

MiB = 1024 * 1024


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_runs_beyond_the_bound_wait_in_order_and_know_their_place() -> None:
    clock = Clock()
    admission = Admission(AdmissionLimits(runs=2, memory=1024 * MiB, queue=10), clock=clock)
    first, second = admission.enter(100 * MiB), admission.enter(100 * MiB)
    assert first.admitted and second.admitted
    third, fourth, fifth = (admission.enter(100 * MiB) for _ in range(3))
    assert not third.admitted and [t.ahead() for t in (third, fourth, fifth)] == [0, 1, 2]
    assert place_message(fifth.ahead()) == "Waiting for a free place: 2 runs ahead of yours."
    assert place_message(fourth.ahead()) == "Waiting for a free place: 1 run ahead of yours."
    assert place_message(third.ahead()) == "Waiting for a free place: yours is next."
    clock.now += 7.5
    first.leave()
    assert third.admitted and not fourth.admitted and third.waited() == 7.5
    assert [fourth.ahead(), fifth.ahead()] == [0, 1]
    clock.now += 1
    assert fourth.waited() == 8.5  # still waiting: counted up to now
    assert (admission.running, admission.waiting, admission.memory) == (2, 2, 200 * MiB)


def test_memory_bounds_the_runs_and_a_big_run_is_not_overtaken() -> None:
    admission = Admission(AdmissionLimits(runs=10, memory=500 * MiB, queue=10))
    big_running = admission.enter(300 * MiB)
    small_running = admission.enter(100 * MiB)
    big = admission.enter(300 * MiB)  # 700 MiB would be over: waits
    small = admission.enter(50 * MiB)  # would fit, but arrived after the big one
    assert not big.admitted and not small.admitted and small.ahead() == 1
    small_running.leave()  # 300 + 300 is still over
    assert not big.admitted
    big_running.leave()
    assert big.admitted and small.admitted and admission.memory == 350 * MiB


def test_a_full_queue_refuses_at_once_and_a_run_bigger_than_all_memory_is_refused() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=512 * MiB, queue=2))
    running = admission.enter(MiB)
    waiting = [admission.enter(MiB), admission.enter(MiB)]
    with pytest.raises(AdmissionRefused) as full:
        admission.enter(MiB)
    assert str(full.value) == (
        "The server is busy: 2 runs are waiting already, as many as it lets wait. Try again in a minute."
    )
    with pytest.raises(AdmissionRefused, match=r"^This run may use 600 MiB of memory, more than this server"):
        admission.enter(600 * MiB)
    waiting[1].leave()  # a place in the queue again
    admission.enter(MiB).leave()
    running.leave()
    assert waiting[0].admitted


def test_leaving_the_queue_wakes_its_waiter_and_a_waiter_is_woken_when_admitted() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=512 * MiB))
    running = admission.enter(MiB)
    cancelled, admitted = admission.enter(MiB), admission.enter(MiB)
    results: dict[str, bool] = {}
    threads = [
        threading.Thread(target=lambda t=ticket, n=name: results.__setitem__(n, t.wait(10)))
        for name, ticket in (("cancelled", cancelled), ("admitted", admitted))
    ]
    for thread in threads:
        thread.start()
    cancelled.leave()  # the reader pressed Cancel while waiting
    running.leave()
    for thread in threads:
        thread.join(10)
    assert results == {"cancelled": False, "admitted": True}
    assert not cancelled.admitted and admitted.ahead() == 0
    with admitted:
        assert admission.running == 1
    assert admission.running == 0 and admission.memory == 0
    admitted.leave()  # idempotent
    assert admission.running == 0


def test_no_queue_means_a_busy_server_refuses() -> None:
    admission = Admission(AdmissionLimits(runs=1, memory=512 * MiB, queue=0))
    first = admission.enter(MiB)
    with pytest.raises(AdmissionRefused) as busy:
        admission.enter(MiB)
    assert str(busy.value) == "The server is busy: every place for a run is taken. Try again in a minute."
    first.leave()
    assert admission.enter(MiB).admitted


def test_settings_defaults_from_the_machine_and_bad_values_in_one_line() -> None:
    limits, problems = AdmissionLimits.from_environ({}, cpus=4, memory=8192 * MiB)
    assert (limits, problems) == (AdmissionLimits(runs=4, memory=4096 * MiB, queue=50), [])
    limits, problems = AdmissionLimits.from_environ(
        {"SQLECHO_RUNS": "3", "SQLECHO_RUNS_MEMORY": "1.5G", "SQLECHO_RUN_QUEUE": "0"}, cpus=2, memory=0
    )
    assert (limits, problems) == (AdmissionLimits(runs=3, memory=1536 * MiB, queue=0), [])
    limits, problems = AdmissionLimits.from_environ(
        {"SQLECHO_RUNS": "0", "SQLECHO_RUNS_MEMORY": "lots", "SQLECHO_RUN_QUEUE": "-1"},
        cpus=2,
        memory=4096 * MiB,
    )
    assert limits == AdmissionLimits(runs=2, memory=2048 * MiB, queue=50)
    assert problems == [
        "SQLECHO_RUNS='0' is not a whole number of runs, 1 or more; using 2.",
        "SQLECHO_RUNS_MEMORY='lots' is not an amount of memory of 64M or more (like 2G); using 2048M.",
        "SQLECHO_RUN_QUEUE='-1' is not a whole number of runs, 0 or more; using 50.",
    ]
    assert AdmissionLimits.from_environ({"SQLECHO_RUNS_MEMORY": "10M"}, cpus=1, memory=0)[1] == [
        "SQLECHO_RUNS_MEMORY='10M' is not an amount of memory of 64M or more (like 2G); using 256M."
    ]
    assert machine_memory() > 0
