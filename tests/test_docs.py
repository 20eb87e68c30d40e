"""The README's promises stay true: its commands, its links and the CI script agree."""

from __future__ import annotations

import re

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return [line.strip() for line in README.splitlines() if line.startswith("    python3 -m venv .venv")]


def test_readme_has_the_two_setup_commands() -> None:
    app, tests = _commands()
    assert app.endswith("streamlit run app.py")
    assert tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = _commands()
    assert tests in CI.splitlines()
    # The system tools the browser, sandbox and replica tests need, and the accessibility checker.
    assert (
        'packages="chromium bubblewrap nginx libseccomp2 postgresql"' in CI
        and "apt-get install -y $packages" in CI
    )
    assert "npm install --prefix tests/.axe" in CI and "axe-core@" in CI


def test_readme_links_point_to_files() -> None:
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_readme_documents_every_cli_option() -> None:
    from sqlecho._cli import _parser

    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in ("trace", "export"):
        for action in commands[name]._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in README, (name, option)


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_readme_test_example_passes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The README's example runs as a test, against the models and fixture of docs/testing.md."""
    import subprocess
    import sys

    guide = _python_blocks((ROOT / "docs" / "testing.md").read_text(encoding="utf-8"))
    models = next(block for block in guide if block.startswith("# models.py"))
    fixture = next(block for block in guide if block.startswith("# conftest.py"))
    (example,) = _python_blocks(README)
    (tmp_path / "models.py").write_text(models)
    (tmp_path / "conftest.py").write_text(fixture)
    (tmp_path / "test_readme.py").write_text(example)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_readme_terminal_example_is_what_the_command_line_prints() -> None:
    """The README's text-form example is the real output for the fixture lesson it shows."""
    from sqlecho import TraceOptions, trace
    from sqlecho._render.text import format_transcript

    start = README.index("      ── Step 3/8 · Commit")
    example = README[start : README.index("\n\n", start)]
    lesson = ROOT / "tests" / "fixtures" / "lessons" / "01_first_steps.py"
    text = format_transcript(dict(trace(lesson, TraceOptions())), lesson.read_text(encoding="utf-8"))
    expected = "\n".join(line.removeprefix("      ") for line in example.splitlines())
    assert expected in text
