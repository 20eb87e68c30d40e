"""The layers of the package, kept by a test (in the spirit of click's tests/test_imports.py).

A layer imports only from the layers below it; only the app imports Streamlit and only the
notebook glue imports IPython; the subpackages
import each other without a cycle; and ``import sqlecho.testing`` and the pytest plugin (which
pytest loads in every project that installs sqlecho) import neither SQLModel, nor the ORM,
nor Streamlit.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sqlecho"

# Layer -> the layers it may import. "top" is the package's own top-level modules
# (sqlecho/__init__.py, the command line); nothing in the package imports the app, which only
# app.py and app_pages/ (outside the package) start.
ALLOWED: dict[str, set[str]] = {
    "transcript": set(),
    "_transcript": {"transcript"},
    "_record": {"_transcript", "transcript"},
    "_trace": {"_record", "_transcript", "transcript"},
    "testing": {"_record", "_transcript", "transcript"},
    "_render": {"_transcript", "transcript"},
    "_sandbox": {"_trace", "_record", "_transcript", "transcript"},
    "_app": {"_render", "_sandbox", "_trace", "_record", "_transcript", "transcript"},
    "_notebook": {"_render", "_sandbox", "_trace", "_record", "_transcript", "transcript"},
    "top": {"_notebook", "_sandbox", "_render", "_trace", "testing", "_record", "_transcript", "transcript"},
}
HEAVY = ("sqlmodel", "sqlalchemy.orm", "streamlit", "IPython")


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    """``sqlecho._trace.tracer`` -> ``_trace``; the top-level modules -> ``top``."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ALLOWED:
        return parts[1]
    return "top"


def imports(package: Path = PACKAGE) -> Iterator[tuple[str, str, int]]:
    """(module, imported module, line) for every import statement, in functions too."""
    for path in sorted(package.rglob("*.py")):
        module = _module_name(path, package)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name, node.lineno
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = module.split(".") if is_package else module.split(".")[:-1]
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join([*here, base] if base else here)
                    if not node.module:  # from . import x: x is a module
                        for alias in node.names:
                            yield module, f"{base}.{alias.name}", node.lineno
                        continue
                yield module, base, node.lineno


def violations(package: Path = PACKAGE) -> list[str]:
    """Every import that breaks a layer rule, as readable sentences."""
    found: list[str] = []
    name = package.name
    for module, target, line in imports(package):
        where = f"{module} (line {line})"
        if (target == "streamlit" or target.startswith("streamlit.")) and _layer(module) != "_app":
            found.append(f"{where} imports streamlit: only {name}._app may")
        if (target == "IPython" or target.startswith("IPython.")) and _layer(module) != "_notebook":
            found.append(f"{where} imports IPython: only {name}._notebook may")
        if target != name and not target.startswith(name + "."):
            continue
        source, dest = _layer(module), _layer(target)
        if source != dest and dest not in ALLOWED[source]:
            found.append(f"{where} imports {target}: layer {source} may not import {dest}")
    return found


def cycles(package: Path = PACKAGE) -> list[list[str]]:
    """Cycles in the graph of which layer imports which (each cycle listed once)."""
    name = package.name
    edges: dict[str, set[str]] = {}
    for module, target, _line in imports(package):
        if target.startswith(name + ".") and _layer(module) != _layer(target):
            edges.setdefault(_layer(module), set()).add(_layer(target))
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt) :]
                if min(cycle) == cycle[0] and cycle not in found:
                    found.append(cycle)
            else:
                visit(nxt, [*path, nxt])

    for start in sorted(edges):
        visit(start, [start])
    return found


def page_modules(package: Path = PACKAGE, shims: Path = PACKAGE.parent / "app_pages") -> set[str]:
    """The modules whose ``*_page`` function a shim in ``app_pages/`` runs: the app's pages."""
    found: set[str] = set()
    for shim in sorted(shims.glob("*.py")):
        for node in ast.walk(ast.parse(shim.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and any(alias.name.endswith("_page") for alias in node.names):
                found.add(str(node.module))
    return found


def pages_reaching_pages(package: Path = PACKAGE, pages: set[str] | None = None) -> list[str]:
    """Every page that imports another page, directly or through the modules it imports."""
    pages = page_modules(package) if pages is None else pages
    edges: dict[str, set[str]] = {}
    for module, target, _line in imports(package):
        edges.setdefault(module, set()).add(target)
    found: list[str] = []
    for page in sorted(pages):
        seen, todo = {page}, [page]
        while todo:
            for target in edges.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        found += [f"{page} reaches the page {other}" for other in sorted(seen & pages - {page})]
    return found


def test_the_app_has_its_pages() -> None:
    assert {"sqlecho._app.lesson_page", "sqlecho._app.your_code_page"} <= page_modules()


def test_a_page_imports_no_other_page() -> None:
    assert pages_reaching_pages() == []


def test_the_page_rule_sees_a_page_reached_through_a_widget(tmp_path: Path) -> None:
    package = _make_package(
        tmp_path,
        {
            "__init__.py": "",
            "_app/__init__.py": "",
            "_app/one.py": "from .widget import x\n",
            "_app/widget.py": "from .two import y\nx = 1\n",
            "_app/two.py": "y = 2\n",
        },
    )
    pages = {f"{package.name}._app.one", f"{package.name}._app.two"}
    assert pages_reaching_pages(package, pages) == [
        f"{package.name}._app.one reaches the page {package.name}._app.two"
    ]


def test_every_import_respects_the_layers() -> None:
    assert violations() == []


def test_the_layers_import_each_other_without_a_cycle() -> None:
    assert cycles() == []


def _make_package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "sqlecho"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text)
    return package


def test_the_rules_catch_an_upward_import_streamlit_and_a_cycle(tmp_path: Path) -> None:
    package = _make_package(
        tmp_path,
        {
            "_render/step.py": "from .._app.traces import TraceCache\n",
            "_trace/tracer.py": "import streamlit as st\nfrom .._sandbox import runner\n",
            "_sandbox/runner.py": "from .._trace.tracer import trace\n",
            "_app/traces.py": "",
        },
    )
    assert violations(package) == [
        "sqlecho._render.step (line 1) imports sqlecho._app.traces: layer _render may not import _app",
        "sqlecho._trace.tracer (line 1) imports streamlit: only sqlecho._app may",
        "sqlecho._trace.tracer (line 2) imports sqlecho._sandbox: layer _trace may not import _sandbox",
    ]
    assert cycles(package) == [["_sandbox", "_trace"]]


def _loaded_by(code: str) -> list[str]:
    """The modules that ``code`` leaves in ``sys.modules``, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize(
    "code",
    [
        "import sqlecho",
        "import sqlecho.testing",
        "import sqlecho.transcript",
        # What pytest does with the pytest11 entry point, at the start of every run.
        "from importlib.metadata import entry_points\n"
        "[ep.load() for ep in entry_points(group='pytest11') if ep.name == 'sqlecho']",
    ],
)
def test_importing_the_light_modules_loads_no_orm_and_no_streamlit(code: str) -> None:
    assert _heavy(_loaded_by(code)) == []


def test_a_public_name_loads_its_module_on_first_use() -> None:
    assert "sqlalchemy.orm" in _loaded_by("import sqlecho\nsqlecho.capture")


ROOT = PACKAGE.parent


def _run_command(argv: list[str]) -> str:
    """Code that runs ``python -m sqlecho ARGV`` in this interpreter, as the shell would."""
    return (
        "import runpy, sys\n"
        f"sys.argv = ['sqlecho', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('sqlecho', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout.flush()\n"
        "print()"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["trace", str(ROOT / "lessons" / "04_expire_on_commit.py")],
        ["check", str(ROOT / "lessons" / "07_reading_with_select.py")],
        ["trace", "--help"],
    ],
    ids=["trace", "check", "help"],
)
def test_the_command_line_parent_loads_no_orm_while_the_sandbox_runs_the_program(argv: list[str]) -> None:
    # The worker imports SQLAlchemy; the parent only starts it and prints what comes back.
    loaded = _loaded_by(_run_command(argv))
    assert "sqlecho._cli" in loaded
    assert [
        m for m in loaded if m in ("sqlalchemy", "sqlmodel") or m.startswith(("sqlalchemy.", "sqlmodel."))
    ] == []


def test_the_command_line_parent_loads_nothing_of_postgresql_for_a_run_on_sqlite() -> None:
    loaded = _loaded_by(_run_command(["trace", str(ROOT / "lessons" / "04_expire_on_commit.py")]))
    assert [m for m in loaded if m == "sqlecho._sandbox.postgres" or m.startswith("psycopg")] == []


def test_the_command_line_loads_the_orm_only_to_trace_in_process() -> None:
    program = ROOT / "tests" / "programs" / "core_only.py"
    assert "sqlalchemy.orm" in _loaded_by(_run_command(["trace", "--in-process", str(program)]))


def test_the_app_server_loads_no_orm() -> None:
    # Every module of the app, as the frame and its pages import them; lessons are traced in
    # sandboxed workers, so the server never needs SQLAlchemy itself.
    code = (
        "import pkgutil, importlib, sqlecho._app as app\n"
        "for found in pkgutil.iter_modules(app.__path__):\n"
        "    importlib.import_module('sqlecho._app.' + found.name)"
    )
    loaded = _loaded_by(code)
    assert "streamlit" in loaded and "sqlecho._app.view" in loaded
    assert [
        m for m in loaded if m in ("sqlalchemy", "sqlmodel") or m.startswith(("sqlalchemy.", "sqlmodel."))
    ] == []
