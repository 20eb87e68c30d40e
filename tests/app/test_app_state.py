"""The app's pure parts: lessons, links, switches, settings, and the shared trace cache."""

from __future__ import annotations

import json
import os
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sqlecho import TraceOptions
from sqlecho._app.config import DEFAULT_CACHE_MB, AppConfig, cache_bytes, parse_limits
from sqlecho._app.lessons import (
    Switches,
    clamp_step,
    discover_lessons,
    lesson_title,
    link_params,
    parse_link,
)
from sqlecho._app.traces import TraceCache, TraceFailed, transcript_bytes
from sqlecho._render.titles import prettify_stem
from sqlecho._sandbox.limits import Limits
from sqlecho._sandbox.runner import RunCancelled
from sqlecho._sandbox.settings import DEFAULT_POOL_SIZE, SandboxSettings
from sqlecho._trace.tracer import in_process
from tests import helpers

FIXTURES = helpers.FIXTURES / "lessons"
STEMS = ["01_first_steps", "02_relationships"]

# -- lessons ----------------------------------------------------------------------------------


def test_lessons_are_listed_in_file_order_with_their_titles(tmp_path: Path) -> None:
    (tmp_path / "02_b.py").write_text("# %% [markdown]\n# # Second lesson\n# text\n\n# %%\nx = 1\n")
    (tmp_path / "01_a_first_try.py").write_text("x = 1\n")
    (tmp_path / "_helper.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    lessons = discover_lessons(tmp_path)
    assert [(lesson.stem, lesson.title) for lesson in lessons] == [
        ("01_a_first_try", "A first try"),
        ("02_b", "Second lesson"),
    ]
    assert discover_lessons(tmp_path / "missing") == []


def test_a_changed_lesson_gets_its_new_title_and_text(tmp_path: Path) -> None:
    lesson = tmp_path / "01_x.py"
    lesson.write_text("# %% [markdown]\n# # Old\n")
    assert discover_lessons(tmp_path)[0].title == "Old"
    lesson.write_text("# %% [markdown]\n# # Brand new title\n")
    (found,) = discover_lessons(tmp_path)
    assert (found.title, found.source) == ("Brand new title", "# %% [markdown]\n# # Brand new title\n")


def test_a_lesson_added_or_removed_after_a_listing_is_seen_at_once(tmp_path: Path) -> None:
    (tmp_path / "02_b.py").write_text("x = 1\n")
    assert [lesson.stem for lesson in discover_lessons(tmp_path)] == ["02_b"]
    (tmp_path / "01_a.py").write_text("# %% [markdown]\n# # New one\n")
    assert [(lesson.stem, lesson.title) for lesson in discover_lessons(tmp_path)] == [
        ("01_a", "New one"),
        ("02_b", "B"),
    ]
    (tmp_path / "02_b.py").unlink()
    assert [lesson.stem for lesson in discover_lessons(tmp_path)] == ["01_a"]
    (tmp_path / "01_a.py").unlink()
    assert discover_lessons(tmp_path) == []


def test_an_unchanged_folder_is_listed_from_memory_and_a_saved_over_lesson_is_read_again(
    tmp_path: Path,
) -> None:
    lesson = tmp_path / "01_x.py"
    lesson.write_text("# %% [markdown]\n# # Aaa\n")
    first = discover_lessons(tmp_path)
    again = discover_lessons(tmp_path)
    assert again == first and again[0] is first[0]  # nothing was read or made again
    # An editor that saves by renaming a new file over the old one, same size, same time.
    stat = lesson.stat()
    (tmp_path / ".01_x.py.swp").write_text("# %% [markdown]\n# # Bbb\n")
    os.replace(tmp_path / ".01_x.py.swp", lesson)
    os.utime(lesson, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (found,) = discover_lessons(tmp_path)
    assert (found.title, found.source) == ("Bbb", "# %% [markdown]\n# # Bbb\n")


def test_a_lesson_that_is_not_utf8_is_listed_without_text(tmp_path: Path) -> None:
    (tmp_path / "01_latin.py").write_bytes(b"# %% [markdown]\n# # Caf\xe9\n")
    (found,) = discover_lessons(tmp_path)
    assert (found.title, found.source) == ("Caf\ufffd", None)


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("# %% [markdown]\n# # The engine\n# More.\n", "The engine"),
        ('# %% [markdown]\n"""\n# Quoted title\n"""\n', "Quoted title"),
        ("# %% [markdown]\n# Just text, no heading\n", "Lazy loading"),
        ("# %% Code first\nx = 1\n# %% [markdown]\n# ## Section\n# # Late heading\n", "Late heading"),
        ("print('plain script')\n", "Lazy loading"),
    ],
)
def test_lesson_title_is_the_first_markdown_heading(source: str, title: str) -> None:
    assert lesson_title(source, "02_lazy_loading") == title


def test_prettify_stem() -> None:
    assert prettify_stem("10_updating_rows") == "Updating rows"
    assert prettify_stem("intro-to-orm") == "Intro to orm"
    assert prettify_stem("07") == "07"


# -- links ------------------------------------------------------------------------------------


def test_a_good_link_opens_its_lesson_and_switches() -> None:
    request = parse_link(
        {"lesson": "02_relationships", "step": "3", "expire_on_commit": "0", "presenter": "1"}, STEMS
    )
    assert (request.lesson, request.step, request.problems) == ("02_relationships", "3", [])
    assert request.switches == Switches(expire_on_commit=False, autoflush=True, presenter=True)


def test_no_link_opens_the_first_lesson() -> None:
    request = parse_link({}, STEMS)
    assert (request.lesson, request.step, request.switches, request.problems) == (
        "01_first_steps",
        None,
        Switches(),
        [],
    )


def test_bad_link_parts_give_messages_and_defaults() -> None:
    request = parse_link({"lesson": "<b>nope</b>", "autoflush": "maybe"}, STEMS)
    assert request.lesson == "01_first_steps"
    assert request.problems == [
        "There is no lesson called “<b>nope</b>”; showing 01_first_steps instead.",
        "“autoflush=maybe” is not understood (use 0 or 1); it was ignored.",
    ]
    assert request.switches.autoflush is True
    assert parse_link({"lesson": "x" * 500}, STEMS).problems[0].count("x") == 57


@pytest.mark.parametrize(
    ("raw", "step", "message"),
    [
        (None, 1, None),
        ("4", 4, None),
        (" 2 ", 2, None),
        ("0", 1, "Steps are numbered from 1; showing step 1 (the address asked for 0)."),
        ("-3", 1, "Steps are numbered from 1; showing step 1 (the address asked for -3)."),
        ("999", 5, "This lesson has 5 steps; showing the last one."),
        ("abc", 1, "“abc” is not a step number; showing step 1."),
        ("1e3", 1, "“1e3” is not a step number; showing step 1."),
        ("", 1, "“” is not a step number; showing step 1."),
    ],
)
def test_clamp_step(raw: str | None, step: int, message: str | None) -> None:
    assert clamp_step(raw, 5) == (step, message)


def test_link_params_carry_switches_only_when_not_default() -> None:
    assert link_params("01_a", 2, Switches()) == {"lesson": "01_a", "step": "2"}
    assert link_params("01_a", 2, Switches(False, False, True)) == {
        "lesson": "01_a",
        "step": "2",
        "expire_on_commit": "0",
        "autoflush": "0",
        "presenter": "1",
    }


def test_switches_make_trace_options() -> None:
    assert Switches().trace_options() == TraceOptions()
    assert not Switches(presenter=True).changed
    assert Switches(expire_on_commit=False).trace_options() == TraceOptions(expire_on_commit=False)
    assert Switches(autoflush=False).changed


# -- settings ---------------------------------------------------------------------------------


def test_settings_default_to_a_full_app(tmp_path: Path) -> None:
    from sqlecho._app.config import class_db
    from sqlecho._sandbox.databases import unavailable

    config = AppConfig.from_env({}, tmp_path)
    # What this machine has (a PostgreSQL server, a cache folder) is read, not assumed.
    assert config == AppConfig(
        lessons_dir=tmp_path,
        allow_user_code=True,
        runner="sandbox",
        class_db=class_db({}),
        postgres_unavailable=unavailable({}),
    )


def test_settings_are_read_once_per_environment_not_on_every_page_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every step a reader takes reruns the app's frame, which asks for the settings: reading them
    # looks for PostgreSQL's programs and the machine's memory, which a step must not pay for.
    from sqlecho._app import view

    monkeypatch.setenv("SQLECHO_ALLOW_USER_CODE", "1")
    first = view._settings(tuple(sorted(os.environ.items())), tmp_path)
    again = view._settings(tuple(sorted(os.environ.items())), tmp_path)
    assert again is first and first.allow_user_code
    monkeypatch.setenv("SQLECHO_ALLOW_USER_CODE", "0")
    changed = view._settings(tuple(sorted(os.environ.items())), tmp_path)
    assert changed is not first and not changed.allow_user_code


def test_settings_from_the_environment(tmp_path: Path) -> None:
    environ = {
        "SQLECHO_ALLOW_USER_CODE": "0",
        "SQLECHO_LESSONS": str(tmp_path / "mine"),
        "SQLECHO_RUNNER": "in_process",
        "SQLECHO_USER_LIMITS": "wall_time=1.5, memory=256M, processes=4",
    }
    config = AppConfig.from_env(environ, tmp_path)
    assert (config.allow_user_code, config.lessons_dir, config.runner) == (
        False,
        tmp_path / "mine",
        "in-process",
    )
    assert config.user_limits == Limits(wall_time=1.5, memory=256 * 1024 * 1024, processes=4)
    assert config.problems == ()


def test_bad_settings_are_reported_and_safe(tmp_path: Path) -> None:
    config = AppConfig.from_env(
        {
            "SQLECHO_ALLOW_USER_CODE": "perhaps",
            "SQLECHO_RUNNER": "docker",
            "SQLECHO_USER_LIMITS": "speed=3,wall_time=-1",
        },
        tmp_path,
    )
    assert config.allow_user_code is False  # an unreadable switch errs on the safe side
    assert config.runner == "sandbox"
    assert config.user_limits == Limits()
    assert config.problems == (
        "SQLECHO_ALLOW_USER_CODE='perhaps' is not 0 or 1; the page stays off.",
        "SQLECHO_RUNNER='docker' is not 'sandbox' or 'in-process'; using the sandbox.",
        "SQLECHO_USER_LIMITS: unknown limit 'speed' (known: wall_time, cpu_time, memory, output, processes, "
        "open_files, file_size, scratch).",
        "SQLECHO_USER_LIMITS: 'wall_time=-1' is not a positive number.",
    )


def test_the_sandbox_and_cache_settings_are_read_with_the_others(tmp_path: Path) -> None:
    config = AppConfig.from_env(
        {
            "SQLECHO_POOL_SIZE": "5",
            "SQLECHO_LIMIT_WALL_TIME": "3",
            "SQLECHO_CACHE_MB": "16",
            "SQLECHO_CACHE_DIR": str(tmp_path / "kept"),
        },
        tmp_path,
    )
    assert config.sandbox == SandboxSettings(pool_size=5, limits=Limits(wall_time=3.0))
    assert (config.cache_bytes, config.cache_dir) == (16 * 1024**2, tmp_path / "kept")
    assert config.problems == ()
    assert AppConfig.from_env({"SQLECHO_CACHE_DIR": "off"}, tmp_path).cache_dir is None


@pytest.mark.parametrize("bad", ["abc", "-1", "2.5", "1e3"])
def test_a_bad_pool_size_is_refused_in_one_line_and_the_default_used(tmp_path: Path, bad: str) -> None:
    config = AppConfig.from_env({"SQLECHO_POOL_SIZE": bad}, tmp_path)
    assert config.sandbox.pool_size == DEFAULT_POOL_SIZE
    assert config.problems == (
        f"SQLECHO_POOL_SIZE={bad!r} is not a whole number of spare workers (0 or more); using 2.",
    )


def test_a_bad_limit_variable_is_refused_in_one_line_and_the_defaults_used(tmp_path: Path) -> None:
    settings, problems = SandboxSettings.from_environ(
        {"SQLECHO_LIMIT_MEMORY": "lots", "SQLECHO_POOL_SIZE": "0"}
    )
    assert settings == SandboxSettings(pool_size=0, limits=Limits())
    assert problems == ["SQLECHO_LIMIT_MEMORY must be a number, got 'lots'; using the default limits."]


def test_parse_limits_reads_sizes() -> None:
    limits, problems = parse_limits("file_size=2k,output=1G,cpu_time=2")
    assert (limits.file_size, limits.output, limits.cpu_time, problems) == (2048, 1024**3, 2.0, [])


# -- trace cache ------------------------------------------------------------------------------


def test_the_servers_trace_caches_are_made_once_each_and_made_again_after_a_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlecho._app.view import trace_cache

    monkeypatch.setenv("SQLECHO_CACHE_DIR", "off")
    trace_cache.clear()
    try:
        first = trace_cache("in-process", "your code")
        assert trace_cache("in-process", "your code") is first  # every rerun: the same one
        assert trace_cache("in-process") is not first  # the lessons have their own
        trace_cache.clear()
        assert trace_cache("in-process", "your code") is not first
    finally:
        trace_cache.clear()  # later tests make theirs with their own settings


class _CountingRunner:
    """A runner that records its calls and can be held until released (to test concurrency)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, TraceOptions]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail = fail

    def __call__(self, source: str, path: Path, options: TraceOptions, name: str, **_: Any) -> dict[str, Any]:
        self.calls.append((source, options))
        self.release.wait(5)
        if self.fail:
            raise RuntimeError("worker died")
        step = {
            "lines": [1, 1],
            "events": [{"kind": "sql", "statement": "SELECT 1", "line": 1}],
            "objects": [],
        }
        return {"source": name, "steps": [step]}


def test_the_same_program_is_traced_once_and_options_make_another_trace() -> None:
    runner = _CountingRunner()
    cache = TraceCache(runner)
    first = cache.trace("x = 1", Path("a.py"), TraceOptions(), "a.py")
    again = cache.trace("x = 1", Path("a.py"), TraceOptions(), "a.py")
    other = cache.trace("x = 1", Path("a.py"), TraceOptions(autoflush=False), "a.py")
    assert first is again and other is not first
    assert len(runner.calls) == 2 and (cache.hits, cache.misses) == (1, 2)
    assert first.counts == {1: 1} and first.source == "x = 1"


def test_a_class_opening_one_lesson_at_once_costs_one_trace() -> None:
    runner = _CountingRunner()
    runner.release.clear()
    cache = TraceCache(runner)
    results: list[Any] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(cache.trace("x = 1", Path("a.py"), TraceOptions(), "a"))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # every reader is now waiting for the one trace in flight
    runner.release.set()
    for thread in threads:
        thread.join(5)
    assert len(runner.calls) == 1 and len(results) == 8 and all(result is results[0] for result in results)


def test_old_traces_are_dropped_first() -> None:
    runner = _CountingRunner()
    cache = TraceCache(runner, maxsize=2)
    for source in ("a", "b", "a", "c", "a", "b"):
        cache.trace(source, Path("p.py"), TraceOptions(), "p")
    assert [source for source, _ in runner.calls] == ["a", "b", "c", "b"]


def test_a_failed_runner_is_reported_and_not_cached() -> None:
    runner = _CountingRunner(fail=True)
    cache = TraceCache(runner)
    for _ in range(2):
        with pytest.raises(TraceFailed, match="RuntimeError: worker died"):
            cache.trace("x", Path("p.py"), TraceOptions(), "p")
    assert len(runner.calls) == 2


def test_a_cancelled_run_is_not_kept_and_whoever_waited_for_it_is_told() -> None:
    started = threading.Event()

    def runner(source: str, path: Path, options: TraceOptions, name: str, **kwargs: Any) -> dict[str, Any]:
        started.set()
        assert kwargs["cancel"].wait(5), "the cache hands the cancel event to the runner"
        raise RunCancelled("the run was cancelled")

    cache, cancel = TraceCache(runner), threading.Event()
    waited: list[BaseException] = []

    def wait_for_it() -> None:
        try:
            cache.trace("x", Path("p.py"), TraceOptions(), "p")
        except TraceFailed as exc:
            waited.append(exc)

    owner = ThreadPoolExecutor(1).submit(cache.trace, "x", Path("p.py"), TraceOptions(), "p", cancel=cancel)
    assert started.wait(5)
    other = threading.Thread(target=wait_for_it)
    other.start()
    time.sleep(0.2)  # the second reader now waits for the run in flight
    cancel.set()
    with pytest.raises(RunCancelled):
        owner.result(5)
    other.join(5)
    assert cache.peek("x", Path("p.py"), TraceOptions(), "p") is None
    assert [str(exc) for exc in waited] == ["the run was cancelled by another reader; run it again"]


def test_in_process_traces_a_lesson() -> None:
    lesson = FIXTURES / "03_unexpected_error.py"
    transcript = in_process(lesson.read_text(), lesson, TraceOptions(), "03.py")
    assert transcript["source"] == "03.py" and transcript["status"] == "error"
    assert transcript["steps"][-1]["error"]["type"] == "NoResultFound"


# -- the cache's weight -----------------------------------------------------------------------


def _events(count: int) -> dict[str, Any]:
    """A transcript of ``count`` tiny events (the weight the program controls)."""
    events = [{"kind": "output", "line": 1, "stream": "stdout", "text": f"{n}\n"} for n in range(count)]
    return {"steps": [{"lines": [1, 1], "events": events, "objects": []}]}


def test_transcript_bytes_is_close_to_the_memory_a_transcript_takes() -> None:
    for transcript in (
        _events(20_000),
        in_process(
            (FIXTURES / "01_first_steps.py").read_text(),
            FIXTURES / "01_first_steps.py",
            TraceOptions(),
            "01.py",
        ),
    ):
        text = json.dumps(transcript)
        tracemalloc.start()
        try:
            decoded = json.loads(text)
            used = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert 0.75 * used < transcript_bytes(decoded) < 1.25 * used, (transcript_bytes(decoded), used)
    assert transcript_bytes(_events(20_000)) > 5 * len(json.dumps(_events(20_000)))  # not the JSON's length


def test_the_cache_keeps_traces_by_weight_least_recently_used_first() -> None:
    sizes = {"a": 1000, "b": 1000, "c": 1000, "d": 1000, "e": 1000, "big": 20_000}
    calls: list[str] = []

    def runner(source: str, path: Path, options: TraceOptions, name: str, **_: Any) -> dict[str, Any]:
        calls.append(source)
        return _events(sizes[source])

    weight = transcript_bytes(_events(1000))
    cache = TraceCache(runner, max_bytes=int(4.5 * weight))  # room for four; one may take 1.125
    for source in ("a", "b", "c", "d", "a", "e"):  # "a" was used again: "b" is the oldest
        cache.trace(source, Path("p.py"), TraceOptions(), "p")
    assert cache.bytes == 4 * weight <= cache.max_bytes
    for source in ("a", "c", "d", "e"):
        assert cache.peek(source, Path("p.py"), TraceOptions(), "p") is not None, source
    assert cache.peek("b", Path("p.py"), TraceOptions(), "p") is None
    # Too heavy to keep: returned every time, traced every time, and nothing else is pushed out.
    for _ in range(2):
        assert len(cache.trace("big", Path("p.py"), TraceOptions(), "p").steps[0]["events"]) == 20_000
    assert calls == ["a", "b", "c", "d", "e", "big", "big"]
    assert cache.bytes == 4 * weight


def test_the_cache_budget_is_a_setting(tmp_path: Path) -> None:
    assert cache_bytes({}) == (DEFAULT_CACHE_MB * 1024**2, None)
    assert cache_bytes({"SQLECHO_CACHE_MB": "16"}) == (16 * 1024**2, None)
    for bad in ("lots", "0", "-3", "nan", "inf"):
        assert cache_bytes({"SQLECHO_CACHE_MB": bad})[0] == DEFAULT_CACHE_MB * 1024**2
        problems = AppConfig.from_env({"SQLECHO_CACHE_MB": bad}, tmp_path).problems
        assert problems == (
            f"SQLECHO_CACHE_MB={bad!r} is not a positive number of MiB; using {DEFAULT_CACHE_MB}.",
        )
