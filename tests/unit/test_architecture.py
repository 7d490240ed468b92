"""The plan of the package, checked on its source (AST, not grep): MLflow only in
frenk/tracking (the MLflow adapters), the team stack imports neither MLflow nor tracking, the library
never reaches up into tracking or the steps, no private names across modules, short functions and
files, and no work at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import ROOT

PACKAGE = ROOT / "frenk"
LIBRARY = ("data", "training", "tuning", "comparison", "publishing")
#: the MLflow adapters: the only packages that may import mlflow
MLFLOW_ADAPTERS = ("tracking",)
#: the team stack and a client's side of it (no MLflow: the server is a separate process)
TEAM = "team"
MAX_FUNCTION_LINES = 50
MAX_FILE_LINES = 350


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in ``path``, relative ones resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.append((module, [alias.name for alias in node.names]))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_sources_are_found():
    assert len(SOURCES) > 30 and PACKAGE / "tracking" / "runs.py" in SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_mlflow_is_imported_only_in_tracking(path):
    if path.relative_to(PACKAGE).parts[0] in MLFLOW_ADAPTERS:
        return
    offending = [m for m, _ in _imports(path) if m == "mlflow" or m.startswith("mlflow.")]
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}: MLflow belongs in frenk/tracking/"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] == TEAM],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_team_package_imports_only_the_core(path):
    """frenk.team sits below tracking: tracking builds on its connection, never the other way round."""
    own = ("frenk.core", "frenk.team")
    offending = [m for m, _ in _imports(path) if m.startswith("frenk") and not m.startswith(own)]
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}: frenk.team imports only frenk.core"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] == "cluster"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_cluster_package_imports_only_the_core(path):
    """frenk.cluster (the Slurm client: options, job script, sbatch) knows nothing of MLflow or the steps."""
    offending = [m for m, _ in _imports(path) if m.startswith("frenk") and not m.startswith(("frenk.core",
                                                                                              "frenk.cluster"))]
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}: frenk.cluster imports only frenk.core"


def test_the_team_package_exists():
    assert (PACKAGE / TEAM / "server.py") in SOURCES and (PACKAGE / TEAM / "access.py") in SOURCES
    assert not (PACKAGE / "tracking" / "server.py").exists() and not (PACKAGE / "tracking" / "access.py").exists()


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] in LIBRARY],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_library_never_imports_tracking_or_steps(path):
    offending = [m for m, _ in _imports(path) if m.startswith(("frenk.tracking", "frenk.steps"))]
    assert not offending, (f"{path.relative_to(ROOT)} imports {offending}: "
                           "the library must not know about tracking or steps")


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(PACKAGE).parts[0] == "core"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_imports_no_other_frenk_package(path):
    offending = [m for m, _ in _imports(path) if m.startswith("frenk") and not m.startswith("frenk.core")]
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}: frenk.core is the bottom layer"


@pytest.mark.parametrize("path", SOURCES + sorted((ROOT / "bench").glob("*.py"))
                         + sorted((ROOT / "tests").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_are_imported_from_other_modules(path):
    private = [f"{m}.{n}" for m, names in _imports(path) if m.startswith("frenk") for n in names
               if n.startswith("_") and not n.startswith("__")]
    assert not private, f"{path.relative_to(ROOT)} imports private names {private}"


def test_the_library_prints_through_the_frenk_logger():
    calls = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in SOURCES for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"]
    assert not calls, f"print() in {calls}: use logging.getLogger(__name__) or frenk.core.log.result"


def test_no_sys_path_edits_in_benchmarks():
    for path in (ROOT / "bench").glob("*.py"):
        assert "sys.path" not in path.read_text(), f"{path}: import the installed package instead"


def test_functions_are_short():
    long = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, f"functions longer than {MAX_FUNCTION_LINES} lines: {long}"


def test_files_are_short():
    long = [f"{p.relative_to(ROOT)} ({n} lines)" for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert not long, f"files longer than {MAX_FILE_LINES} lines: {long}"


@pytest.mark.slow
def test_importing_every_module_does_no_work(tmp_path):
    """No folder made, no file written, no tracking URI chosen: importing is free of effects."""
    modules = sorted({_module_name(p) for p in SOURCES})
    code = (
        "import importlib, os, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import mlflow.tracking._tracking_service.utils as u\n"
        "print('URI-SET' if u._tracking_uri is not None else 'URI-UNSET')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("URI-UNSET")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
