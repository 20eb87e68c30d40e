"""The README's promises stay true: its commands, its links and the CI script agree."""

from __future__ import annotations

import re

from conftest import ROOT

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
    assert "apt-get install -y chromium bubblewrap" in CI


def test_readme_links_point_to_files() -> None:
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_readme_documents_every_cli_option() -> None:
    from sqlecho._cli import _parser

    trace = _parser()._subparsers._group_actions[0].choices["trace"]  # type: ignore[union-attr]
    for action in trace._actions:
        for option in action.option_strings:
            if option not in ("-h", "--help"):
                assert option in README, option
