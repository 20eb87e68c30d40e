"""What the wheel holds: the library, the command line and the sandbox; no app, no benchmarks.

Reads the package list the way setuptools builds it from pyproject.toml (building a whole wheel
takes seconds; the list is what decides its contents).
"""

from __future__ import annotations

import re
import tomllib

import setuptools

from tests.helpers import ROOT

_WEBSOCKETS = re.compile(r"^\s*(import|from)\s+websockets\b", re.MULTILINE)


def _packages() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    return sorted(
        setuptools.find_packages(str(ROOT), include=find["include"], exclude=find.get("exclude", ()))
    )


def test_the_wheel_holds_the_library_and_no_app_or_benchmarks() -> None:
    packages = _packages()
    assert {"sqlecho", "sqlecho.testing", "sqlecho._sandbox", "sqlecho._render"} <= set(packages)
    assert [name for name in packages if name.startswith(("benchmarks", "sqlecho._app", "tests"))] == []
    # Otherwise setuptools ships every file git knows under sqlecho/ as package data, app included.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["setuptools"]["include-package-data"] is False


def test_no_module_of_the_wheel_imports_websockets() -> None:
    for package in _packages():
        for path in (ROOT / package.replace(".", "/")).glob("*.py"):
            assert not _WEBSOCKETS.search(path.read_text(encoding="utf-8")), path


def test_the_stylesheets_the_viewer_script_and_the_icon_ship_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["setuptools"]["package-data"]["sqlecho._render"] == ["*.css", "*.js", "*.png"]
    for name in ("style.css", "export.css", "export.js", "favicon.png"):
        assert (ROOT / "sqlecho" / "_render" / name).is_file()


def test_installing_the_package_brings_no_app_dependency() -> None:
    """``pip install sqlecho`` is the test user's line: the ORM, not Streamlit (an extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {
        re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in project["dependencies"]
    }
    assert names == {"sqlmodel", "sqlalchemy"}
    assert [req.split(">")[0] for req in project["optional-dependencies"]["app"]] == ["streamlit"]
    # Ranges, not pins: a library must install beside the user's own versions.
    assert all("==" not in requirement for requirement in project["dependencies"])
