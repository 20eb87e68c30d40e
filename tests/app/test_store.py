"""Lesson transcripts on disk, and the trace cache that reads them first and warms them early.

A stored file is only ever a shortcut: whatever is wrong with it (cut short, tampered with,
written for another program, another version or other options), the lesson is traced again.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

import pytest

from sqlecho._app.lessons import Switches, discover_lessons
from sqlecho._app.store import TranscriptStore, cache_dir, versions
from sqlecho._app.traces import TraceCache
from sqlecho._app.view import warm_lessons, warm_requests
from sqlecho._sandbox.postgres import cache_folder
from sqlecho._trace.options import TraceOptions
from sqlecho._trace.tracer import in_process
from tests.helpers import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "lessons"
LESSON = FIXTURES / "01_first_steps.py"
CODE = {"sqlecho": "1+abc", "sqlalchemy": "2.1.9"}
PLAIN = TraceOptions()


@pytest.fixture(scope="module")
def transcript() -> dict[str, Any]:
    return in_process(LESSON.read_text(), LESSON, PLAIN, LESSON.name)


def _store(folder: Path, code: dict[str, str] = CODE) -> TranscriptStore:
    return TranscriptStore(folder, "sandbox", code)


def _load(store: TranscriptStore, options: TraceOptions = PLAIN) -> dict[str, Any] | None:
    return store.load(LESSON.read_text(), LESSON, options, LESSON.name)


def _file(store: TranscriptStore) -> Path:
    return store.folder / f"{store.key(LESSON.read_text(), LESSON, PLAIN, LESSON.name)}.json"


def test_a_saved_transcript_comes_back_equal(tmp_path: Path, transcript: dict[str, Any]) -> None:
    store = _store(tmp_path / "made" / "on" / "demand")
    assert store.save(LESSON.read_text(), LESSON, PLAIN, LESSON.name, transcript)
    assert _load(store) == transcript
    assert [path.name for path in store.folder.iterdir()] == [_file(store).name]  # no temporary left


def test_another_store_on_the_same_folder_reads_it(tmp_path: Path, transcript: dict[str, Any]) -> None:
    _store(tmp_path).save(LESSON.read_text(), LESSON, PLAIN, LESSON.name, transcript)
    assert _load(_store(tmp_path)) == transcript  # a restarted server, or another replica


def test_other_options_versions_or_text_are_other_files(tmp_path: Path, transcript: dict[str, Any]) -> None:
    store = _store(tmp_path)
    store.save(LESSON.read_text(), LESSON, PLAIN, LESSON.name, transcript)
    assert _load(store, TraceOptions(expire_on_commit=False)) is None
    assert _load(_store(tmp_path, {**CODE, "sqlalchemy": "2.1.10"})) is None
    assert _load(_store(tmp_path, {**CODE, "sqlecho": "1+abd"})) is None
    assert store.load(LESSON.read_text() + "\n# edited\n", LESSON, PLAIN, LESSON.name) is None


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="cut-short"),
        pytest.param(lambda text: "not json", id="not-json"),
        pytest.param(lambda text: text.replace('"format":1', '"format":99'), id="other-format"),
        pytest.param(lambda text: text.replace('"key":"', '"key":"0'), id="other-key"),
        pytest.param(lambda text: text.replace('"mode":"cells"', '"mode":"movie"'), id="invalid-field"),
        pytest.param(lambda text: text.replace('"index":0', '"index":0,"extra":1'), id="unknown-field"),
        pytest.param(
            lambda text: text.replace('"source":"01_first', '"source":"02_first'), id="other-program"
        ),
    ],
)
def test_a_damaged_or_foreign_file_is_ignored(
    tmp_path: Path, transcript: dict[str, Any], damage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = _store(tmp_path)
    store.save(LESSON.read_text(), LESSON, PLAIN, LESSON.name, transcript)
    file = _file(store)
    text = file.read_text()
    damaged = damage(text)
    assert damaged != text
    file.write_text(damaged)
    assert _load(store) is None


def test_an_invalid_transcript_is_not_saved(tmp_path: Path, transcript: dict[str, Any]) -> None:
    store = _store(tmp_path)
    assert not store.save(LESSON.read_text(), LESSON, PLAIN, LESSON.name, {**transcript, "mode": "movie"})
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_an_unwritable_folder_only_means_nothing_is_kept(tmp_path: Path, transcript: dict[str, Any]) -> None:
    (tmp_path / "file").write_text("a file where the folder should be")
    store = _store(tmp_path / "file" / "sqlecho")
    assert not store.save(LESSON.read_text(), LESSON, PLAIN, LESSON.name, transcript)
    assert _load(store) is None


def test_the_folder_comes_from_the_environment(tmp_path: Path) -> None:
    assert cache_dir({"SQLECHO_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert cache_dir({"SQLECHO_CACHE_DIR": "off"}) is None
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "sqlecho"
    assert cache_dir({}) == Path.home() / ".cache" / "sqlecho"


def test_the_private_postgresql_cluster_lives_in_the_same_folder(tmp_path: Path) -> None:
    assert cache_folder({"SQLECHO_CACHE_DIR": f"{tmp_path}/"}) == tmp_path / "postgres"
    assert cache_folder({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "sqlecho" / "postgres"
    # "off" keeps no transcripts, but a cluster needs a folder: the user's cache folder then.
    assert cache_folder({"SQLECHO_CACHE_DIR": "off", "XDG_CACHE_HOME": str(tmp_path)}) == (
        tmp_path / "sqlecho" / "postgres"
    )


def test_versions_name_the_code_and_the_orm() -> None:
    found = versions()
    assert set(found) == {"sqlecho", "transcript", "sqlalchemy", "sqlmodel"}
    assert "+" in found["sqlecho"]  # the version and a digest of the package's code


class _Runner:
    """Traces in-process and counts the runs; ``hold`` makes the run of that file wait."""

    def __init__(self, hold: str | None = None) -> None:
        self.runs: list[str] = []
        self.hold = hold
        self.held = threading.Event()
        self.release = threading.Event()

    def __call__(self, source: str, path: Path, options: TraceOptions, name: str, **_: Any) -> dict[str, Any]:
        self.runs.append(name)
        if name == self.hold:
            self.held.set()
            assert self.release.wait(30)
        return in_process(source, path, options, name)


def test_a_restarted_cache_reads_the_disk_instead_of_tracing(tmp_path: Path) -> None:
    first, second = _Runner(), _Runner()
    request = (LESSON.read_text(), LESSON, PLAIN, LESSON.name)
    traced = TraceCache(first, store=_store(tmp_path)).trace(*request)
    restarted = TraceCache(second, store=_store(tmp_path))
    assert restarted.trace(*request).transcript == traced.transcript
    assert (first.runs, second.runs, restarted.stored) == ([LESSON.name], [], 1)


def test_only_a_run_that_ended_normally_is_kept(tmp_path: Path) -> None:
    failing = FIXTURES / "03_unexpected_error.py"
    cache = TraceCache(_Runner(), store=_store(tmp_path))
    assert cache.trace(failing.read_text(), failing, PLAIN, failing.name).transcript["status"] == "error"
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


def test_warming_traces_every_lesson_once(tmp_path: Path) -> None:
    runner = _Runner()
    cache = TraceCache(runner, store=_store(tmp_path))
    requests = warm_requests(discover_lessons(FIXTURES))
    finished = threading.Event()
    cache.warm(requests, then=finished.set).join(60)
    assert cache.warmed.is_set() and finished.is_set()
    for request in requests:
        cache.trace(*request)
    assert len(runner.runs) == len(requests) == 3 * 3
    assert cache.misses == len(requests)


def test_the_lessons_are_warmed_once_per_folder_and_a_new_folder_is_warmed_too(tmp_path: Path) -> None:
    folders = [tmp_path / "one", tmp_path / "two"]
    for folder in folders:
        folder.mkdir()
        (folder / "01_lesson.py").write_text("x = 1\n", encoding="utf-8")
    runners: list[_Runner] = []

    def cache_for(_kind: str) -> TraceCache:
        runners.append(_Runner())
        return TraceCache(runners[-1])

    try:
        one = warm_lessons("in-process", str(folders[0]), discover_lessons(folders[0]), cache_for)
        assert one.warmed.wait(60)
        # Every rerun asks again: the same cache, nothing traced again.
        assert warm_lessons("in-process", str(folders[0]), discover_lessons(folders[0]), cache_for) is one
        two = warm_lessons("in-process", str(folders[1]), discover_lessons(folders[1]), cache_for)
        assert two is not one and two.warmed.wait(60)
        assert [len(runner.runs) for runner in runners] == [
            3,
            3,
        ]  # each lesson, as written and with each switch
    finally:
        gc.unfreeze()  # a warmed server freezes what it holds; a test process must not


def test_warming_starts_with_every_lesson_as_written() -> None:
    requests = warm_requests(discover_lessons(FIXTURES))
    plain = Switches().trace_options()
    assert [request[2] for request in requests[:3]] == [plain] * 3
    assert {request[2] for request in requests[3:]} == {
        Switches(expire_on_commit=False).trace_options(),
        Switches(autoflush=False).trace_options(),
    }


def test_a_reader_waits_only_for_their_own_lesson(tmp_path: Path) -> None:
    lessons = discover_lessons(FIXTURES)
    first, second = warm_requests(lessons)[:2]
    runner = _Runner(hold=first[3])
    cache = TraceCache(runner)
    warming = cache.warm([first, second])
    assert runner.held.wait(30)  # the warm-up is stuck on the first lesson
    assert cache.trace(*second).transcript["source"] == second[3]  # served meanwhile
    runner.release.set()
    warming.join(60)
    assert runner.runs == [first[3], second[3]]  # the reader's run was shared, not repeated
