"""The pytest plugin, run for real with pytester: the fixture, the report, snapshots, the docs."""

from __future__ import annotations

import re

import pytest
import sqlalchemy
import sqlalchemy.orm  # noqa: F401 - see below

import sqlecho.testing.assertions  # noqa: F401 - see below
import sqlecho.testing.nplusone  # noqa: F401 - see below
import sqlecho.testing.requests  # noqa: F401 - see below
from tests.helpers import ROOT

# pytester's in-process runs forget the modules first imported inside them; SQLAlchemy's ORM
# imported twice in one process breaks (its enums no longer compare equal). Imported here, it
# stays imported whichever test of this file runs first. So do sqlecho's modules: two copies of
# the Capture class would not know each other's objects.

pytest_plugins = ["pytester"]

# The shared hero model (tests/hero_models.py), plus an engine with two heroes, as a module of
# the test project.
MODELS = (
    (ROOT / "tests" / "hero_models.py").read_text(encoding="utf-8")
    + """

from sqlalchemy import create_engine
from sqlalchemy.orm import Session


def make_engine():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Hero(name=f"Hero {n}", team=Team(name=f"Team {n}")) for n in range(2)])
        session.commit()
    return engine
"""
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A test project with two models and an ``engine`` fixture (plain SQLAlchemy)."""
    pytester.makepyfile(example_models=MODELS)
    pytester.makeconftest(
        """
        import pytest
        from example_models import make_engine

        @pytest.fixture
        def engine():
            engine = make_engine()
            yield engine
            engine.dispose()
        """
    )
    return pytester


def test_the_fixture_is_registered_by_the_installed_package(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from sqlecho import Capture
        from example_models import Hero

        def test_it(engine, sql_capture):
            cap = sql_capture(engine)
            assert isinstance(cap, Capture)
            with Session(engine) as session, cap:
                session.scalars(select(Hero)).all()
            assert cap.statements == ["SELECT hero.id, hero.name, hero.team_id FROM hero"]
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_capture_left_open_is_closed_when_the_test_ends(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from sqlalchemy import event, text
        from example_models import make_engine

        ENGINE = make_engine()
        LISTENERS = []

        def test_open(sql_capture):
            sql_capture(ENGINE).__enter__()
            LISTENERS.extend(ENGINE.dispatch.before_cursor_execute)
            assert LISTENERS

        def test_closed_afterwards():
            assert not any(event.contains(ENGINE, "before_cursor_execute", fn) for fn in LISTENERS)
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


FAILING = """
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from example_models import Hero

    def test_fails(engine, sql_capture):
        with Session(engine) as session, sql_capture(session) as cap:
            for hero in session.scalars(select(Hero)):
                hero.team
        assert cap.count("select") == 1

    def test_passes(engine, sql_capture):
        with sql_capture(engine) as cap:
            pass
        assert cap.count() == 0
"""

REPORT = """\
captured 3 statements:
     test_report.py:7                       BEGIN (implicit)
  1. test_report.py:7  query                SELECT hero.id, hero.name, hero.team_id FROM hero
                                            params: []
  2. test_report.py:8  lazy load Hero.team  SELECT team.id, team.name FROM team WHERE team.id = ?
                                            params: [1]
  3. test_report.py:8  lazy load Hero.team  SELECT team.id, team.name FROM team WHERE team.id = ?
                                            params: [2]
"""


@pytest.mark.parametrize(
    "switch", [["--sqlecho-report"], ["-o", "sqlecho_report=true"]], ids=["option", "ini"]
)
def test_the_report_lists_the_sql_of_failing_tests(project: pytest.Pytester, switch: list[str]) -> None:
    project.makepyfile(test_report=FAILING)
    result = project.runpytest("-p", "no:cacheprovider", *switch)
    result.assert_outcomes(passed=1, failed=1)
    lines = _lines(result.stdout.str())
    [start] = [
        index for index, line in enumerate(lines) if "Captured SQL" in line
    ]  # the passing test has none
    assert re.fullmatch(r"-+ Captured SQL call -+", lines[start])
    report = _lines(REPORT)
    assert lines[start + 1 : start + 1 + len(report)] == report
    assert lines[start + 1 + len(report)].startswith("=")  # the section ends there


def test_the_report_numbers_several_captures(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_two="""
        from sqlalchemy import text

        def test_two(engine, sql_capture):
            for number in (1, 2):
                with sql_capture(engine), engine.connect() as conn:
                    conn.execute(text(f"SELECT {number}"))
            assert False
        """
    )
    result = project.runpytest("-p", "no:cacheprovider", "--sqlecho-report")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "capture #1: captured 1 statement:",
            "     test_two.py:6           BEGIN (implicit)",
            "  1. test_two.py:6  execute  SELECT 1",
            "                             params: []",
            "     test_two.py:5           ROLLBACK",
            "",
            "capture #2: captured 1 statement:",
            "     test_two.py:6           BEGIN (implicit)",
            "  1. test_two.py:6  execute  SELECT 2",
            "                             params: []",
            "     test_two.py:5           ROLLBACK",
        ],
        consecutive=True,
    )


def test_no_report_without_the_option(project: pytest.Pytester) -> None:
    project.makepyfile(test_report=FAILING)
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "Captured SQL" not in result.stdout.str()


def test_the_option_is_documented_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--sqlecho-report*", "*sqlecho_report*"])


def test_a_capture_snapshot_works_with_syrupy(project: pytest.Pytester) -> None:
    test = """
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from sqlecho import capture
        from example_models import Hero

        def test_snapshot(engine, snapshot):
            with Session(engine) as session, capture(session) as cap:
                session.scalars(select(Hero).where(Hero.name == "{name}")).all()
            assert cap.snapshot() == snapshot
    """
    project.makepyfile(test_snap=test.format(name="Hero 1"))
    project.runpytest("-p", "no:cacheprovider", "--snapshot-update").assert_outcomes(passed=1)
    stored = (project.path / "__snapshots__" / "test_snap.ambr").read_text()
    assert "'sql': 'SELECT hero.id, hero.name, hero.team_id FROM hero WHERE hero.name = ?'" in stored
    assert "'dialect': 'sqlite'" in stored
    assert "'Hero 1'" in stored

    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

    project.makepyfile(test_snap=test.format(name="Hero 2"))
    changed = project.runpytest("-p", "no:cacheprovider")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*'Hero 1'*", "*'Hero 2'*"])


# -- docs/testing.md ---------------------------------------------------------------------------------

DOC = ROOT / "docs" / "testing.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
_HEADER = re.compile(r"# (\S+\.py)(: fails on purpose)?")


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def _doc_example() -> tuple[dict[str, str], dict[str, list[str]]]:
    """The doc's files (name -> source) and, for those that fail on purpose, their shown output."""
    files: dict[str, str] = {}
    outputs: dict[str, list[str]] = {}
    failing = None
    for language, body in _BLOCK.findall(DOC.read_text(encoding="utf-8")):
        header = _HEADER.match(body)
        if language == "python" and header is not None:
            files[header.group(1)] = body
            failing = header.group(1) if header.group(2) else None
        elif language == "text" and failing is not None:
            outputs[failing] = _lines(body)
            failing = None
    return files, outputs


def _in_order(expected: list[str], output: list[str]) -> list[str]:
    """The expected lines not found in ``output`` in that order (empty when all are)."""
    position = 0
    for index, line in enumerate(expected):
        try:
            position = output.index(line, position) + 1
        except ValueError:
            return expected[index:]
    return []


def test_the_docs_example_runs_as_documented(pytester: pytest.Pytester) -> None:
    files, outputs = _doc_example()
    assert {"models.py", "conftest.py", "test_heroes.py", "test_grading.py", "test_snapshot.py"} <= set(files)
    for name, source in files.items():
        pytester.path.joinpath(name).parent.mkdir(exist_ok=True)  # api/: the FastAPI recipe
        pytester.path.joinpath(name).write_text(source, encoding="utf-8")
    tests = {name: len(re.findall(r"^def test_", source, re.MULTILINE)) for name, source in files.items()}
    failed = sum(tests[name] for name in outputs)
    passed = sum(tests.values()) - failed

    # A subprocess: the doc's models use SQLModel's shared registry, as a user's would.
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sqlecho-report", "--snapshot-update")
    first.assert_outcomes(passed=passed, failed=failed)
    for name, shown in outputs.items():
        assert _in_order(shown, _lines(first.stdout.str())) == [], f"output of {name} differs from the doc"

    again = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    again.assert_outcomes(passed=passed, failed=failed)


def test_the_docs_file_header_rule_finds_the_failing_example() -> None:
    _, outputs = _doc_example()
    assert list(outputs) == ["test_grading.py", "api/test_hero_list.py", "test_eager.py"]
    assert "E       --- expected" in outputs["test_grading.py"]


# -- second edition: every engine, counts on exit, the automatic N+1 check, the rootdir ------------------


def test_the_fixture_with_no_target_captures_every_engine(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from sqlalchemy import create_engine, select, text
        from sqlalchemy.orm import Session
        from example_models import Hero

        MODULE_ENGINE = create_engine("sqlite://")  # what the app would use outside tests

        def test_it(engine, sql_capture):
            with sql_capture() as cap, Session(engine) as session:
                session.scalars(select(Hero)).all()
            assert cap.count("select") == 1
            with sql_capture(MODULE_ENGINE, strict=True):
                with Session(engine) as session:
                    session.scalars(select(Hero)).all()
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*AssertionError: capture(strict=True) saw no SQL at all on Engine(sqlite://)*"]
    )


def test_counts_given_to_the_fixture_are_asserted_on_exit(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from example_models import Hero

        def test_passes(engine, sql_capture):
            with sql_capture(select=1, insert=0), Session(engine) as session:
                session.scalars(select(Hero)).all()

        def test_fails(engine, sql_capture):
            with sql_capture(select=1), Session(engine) as session:
                for hero in session.scalars(select(Hero)):
                    hero.team

        def test_unknown_kind(sql_capture):
            with pytest.raises(TypeError, match="sql_capture\\\\(\\\\) got an unknown kind 'selects'"):
                sql_capture(selects=1)
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*statement counts differ from expected:", "*  select: expected 1, captured 3"]
    )


N_PLUS_ONE = """
    import pytest
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from example_models import Hero

    def team_names(engine):
        with Session(engine) as session:
            return [hero.team.name for hero in session.scalars(select(Hero))]

    {marker}
    def test_team_names(engine):
        assert team_names(engine) == ["Team 0", "Team 1"]
"""


@pytest.mark.parametrize(
    ("marker", "switch"),
    [
        ("@pytest.mark.sqlecho_no_n_plus_one", []),
        ("", ["--sqlecho-no-n-plus-one"]),
        ("", ["-o", "sqlecho_no_n_plus_one=true"]),
    ],
    ids=["marker", "option", "ini"],
)
def test_the_automatic_n_plus_one_check(project: pytest.Pytester, marker: str, switch: list[str]) -> None:
    project.makepyfile(test_auto=N_PLUS_ONE.format(marker=marker))
    result = project.runpytest("-p", "no:cacheprovider", *switch)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "N+1 queries: 1 load repeated one object at a time",
            "*test_auto.py:8: lazy load Hero.team ran 2 times for Hero#1, Hero#2",
        ]
    )
    # The findings alone: no source of the plugin, no second traceback.
    assert "plugin.py" not in result.stdout.str()
    assert "During handling" not in result.stdout.str()


def test_allow_rules_as_a_marker_an_ini_list_and_a_block(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_allowed=N_PLUS_ONE.format(marker="@pytest.mark.sqlecho_allow_n_plus_one('Hero.team')")
        + """
    def test_allowed_in_a_block(engine):
        from sqlecho.testing import allow_n_plus_one
        with allow_n_plus_one("SELECT ... FROM team WHERE ..."):
            assert team_names(engine) == ["Team 0", "Team 1"]

    @pytest.mark.sqlecho_allow_n_plus_one("Hero.name")
    def test_another_rule_does_not_allow_it(engine):
        assert team_names(engine) == ["Team 0", "Team 1"]
"""
    )
    result = project.runpytest("-p", "no:cacheprovider", "--sqlecho-no-n-plus-one", "--strict-markers")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED test_allowed.py::test_another_rule_does_not_allow_it*"])
    result = project.runpytest(
        "-p", "no:cacheprovider", "--sqlecho-no-n-plus-one", "-o", "sqlecho_allow_n_plus_one=Hero"
    )
    result.assert_outcomes(passed=3)


def test_a_baseline_lets_todays_findings_pass_and_fails_new_ones(project: pytest.Pytester) -> None:
    project.makepyfile(test_auto=N_PLUS_ONE.format(marker=""))
    switches = (
        "-p",
        "no:cacheprovider",
        "--sqlecho-no-n-plus-one",
        "--sqlecho-baseline=sqlecho-baseline.json",
    )
    project.runpytest(*switches, "--sqlecho-baseline-update").assert_outcomes(passed=1)
    baseline = (project.path / "sqlecho-baseline.json").read_text(encoding="utf-8")
    assert '"test_auto.py::test_team_names"' in baseline
    assert "lazy load Hero.team | test_auto.py | SELECT team.id" in baseline
    project.runpytest(*switches).assert_outcomes(passed=1)
    # A new N+1 in the same test fails.
    project.makepyfile(
        test_auto=N_PLUS_ONE.format(marker="")
        + """
    def test_new(engine):
        with Session(engine) as session:
            for hero in session.scalars(select(Hero)):
                session.get(Hero, hero.id + 100)
"""
    )
    result = project.runpytest(*switches)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Session.get(Hero, ...) ran 2 times*"])


def test_a_bad_baseline_file_is_a_one_line_error(project: pytest.Pytester) -> None:
    project.makepyfile(test_auto=N_PLUS_ONE.format(marker=""))
    (project.path / "base.json").write_text("[1, 2]", encoding="utf-8")
    result = project.runpytest("-p", "no:cacheprovider", "--sqlecho-baseline=base.json")
    result.stderr.fnmatch_lines(
        ["*sqlecho baseline*base.json: expected an object of test id -> list of findings"]
    )


def test_a_fixture_capture_with_counts_that_was_never_entered_fails(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_forgot_with(engine, sql_capture):
            sql_capture(engine, select=0)
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*sql_capture(select=0) was never entered, so its counts were never checked*"]
    )


def test_the_report_covers_capture_and_capture_requests(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import httpx
        from sqlalchemy import text
        from sqlecho import capture
        from sqlecho.testing import capture_requests

        def test_it(engine):
            def handle(request):
                with engine.connect() as conn:
                    conn.execute(text("SELECT 'request'"))
                return httpx.Response(200)

            with capture(engine), engine.connect() as conn:
                conn.execute(text("SELECT 'plain'"))
            with httpx.Client(transport=httpx.MockTransport(handle), base_url="http://t") as client:
                with capture_requests(client, engine):
                    client.get("/heroes/")
            assert False
        """
    )
    result = project.runpytest("-p", "no:cacheprovider", "--sqlecho-report")
    result.stdout.fnmatch_lines(
        [
            "*Captured SQL call*",
            "capture #1: captured 1 statement:",
            "*SELECT 'plain'",
            "*",
            "*",
            "capture #2 (GET /heroes/): captured 1 statement:",
            "*SELECT 'request'",
        ]
    )


def test_the_automatic_check_is_off_by_default_and_takes_a_threshold(project: pytest.Pytester) -> None:
    project.makepyfile(test_auto=N_PLUS_ONE.format(marker=""))
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    project.makepyfile(test_auto=N_PLUS_ONE.format(marker="@pytest.mark.sqlecho_no_n_plus_one(threshold=3)"))
    project.runpytest("-p", "no:cacheprovider", "--strict-markers").assert_outcomes(passed=1)


def test_paths_are_relative_to_the_rootdir(project: pytest.Pytester) -> None:
    project.mkdir("tests")
    project.path.joinpath("tests", "test_deep.py").write_text(
        "from sqlalchemy import text\n"
        "\n"
        "def test_it(engine, sql_capture):\n"
        "    with sql_capture(engine) as cap, engine.connect() as conn:\n"
        "        conn.execute(text('SELECT 1'))\n"
        "    assert cap.events[0]['file'] == 'tests/test_deep.py'\n"
    )
    project.makeini("[pytest]\n")  # the rootdir: the project's folder
    # Run from inside tests/: the path stays relative to the rootdir, not the working directory.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project.path / "tests")
        result = project.runpytest("-p", "no:cacheprovider", "--rootdir", str(project.path))
    result.assert_outcomes(passed=1)


def test_a_snapshot_survives_a_patch_release_of_sqlalchemy(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_snap="""
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        from sqlecho import capture
        from example_models import Hero

        def test_snapshot(engine, snapshot):
            with Session(engine) as session, capture(session) as cap:
                session.scalars(select(Hero).where(Hero.id == 1)).one()
                session.commit()
            assert cap.snapshot() == snapshot
        """
    )
    project.runpytest("-p", "no:cacheprovider", "--snapshot-update").assert_outcomes(passed=1)
    stored = (project.path / "__snapshots__" / "test_snap.ambr").read_text()
    assert "'BEGIN (implicit)'" in stored and "'COMMIT'" in stored and "'cause': 'query'" in stored

    # The same project after an upgrade to the next patch release (and then the next minor one).
    major, minor = (int(part) for part in sqlalchemy.__version__.split(".")[:2])
    conftest = (project.path / "conftest.py").read_text()
    for version, outcome in ((f"{major}.{minor}.99", "passed"), (f"{major}.{minor + 1}.0", "failed")):
        # The project's conftest installs the "upgrade" before any test runs.
        project.makeconftest(f"import sqlalchemy\nsqlalchemy.__version__ = {version!r}\n" + conftest)
        project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(**{outcome: 1})


def test_a_run_inside_a_run_leaves_the_outer_root_as_it_was(project: pytest.Pytester) -> None:
    from sqlecho._record import paths

    before = paths.set_root(None)
    paths.set_root(before)
    project.makepyfile("def test_nothing():\n    pass\n")
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    after = paths.set_root(None)
    paths.set_root(after)
    assert after == before == str(ROOT)


def test_a_test_that_does_not_use_the_api_does_not_import_sqlalchemy(pytester: pytest.Pytester) -> None:
    # The plugin's hooks run for every test of every project that installs sqlecho.
    pytester.makepyfile(
        """
        import sys

        def test_light():
            assert not [name for name in sys.modules if name.split(".")[0] == "sqlalchemy"]
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:syrupy").assert_outcomes(passed=1)


def test_the_fixtures_counts_take_an_info_message(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from sqlalchemy import text

        def test_it(engine, sql_capture):
            with sql_capture(engine, select=0, info="the cache must answer"), engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        """
    )
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E*the cache must answer", "E*statement counts differ from expected:"])
