"""Imports flow one way: dags → airloop.airflow → airloop.core; core never imports Airflow."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from _support import REPO

PKG = REPO / "include" / "airloop"
HEAVY = {"pandas", "sklearn", "mlflow", "great_expectations", "evidently", "scipy", "pyarrow"}


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_never_imports_airflow_anywhere() -> None:
    offenders = {}
    for p in (PKG / "core").rglob("*.py"):
        found = sorted(n for n in _imports(p, False) if n.split(".")[0] == "airflow")
        if found:
            offenders[str(p.relative_to(REPO))] = found
    assert not offenders


def test_core_imports_at_runtime_without_airflow() -> None:
    modules = [
        ".".join(("airloop", *p.relative_to(PKG).with_suffix("").parts))
        for p in (PKG / "core").rglob("*.py")
        if p.stem != "__init__"
    ]
    assert len(modules) > 30  # every module of every core subpackage
    probe = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_adapters_import_no_heavy_library_or_core_at_module_level() -> None:
    problems = {}
    for p in (PKG / "airflow").rglob("*.py"):
        bad = {
            n for n in _imports(p, True) if n.split(".")[0] in HEAVY or n.startswith("airloop.core")
        }
        if bad:
            problems[str(p.relative_to(REPO))] = sorted(bad)
    assert not problems, f"move these imports into task bodies: {problems}"


def test_dag_files_only_import_adapters_and_settings() -> None:
    allowed = ("airloop.airflow", "airloop.settings", "airloop.spec", "airflow", "__future__")
    problems = {}
    for p in (REPO / "dags").glob("*.py"):
        bad = {
            n
            for n in _imports(p, False)
            if not n.startswith(allowed) and n not in sys.stdlib_module_names
        }
        if bad:
            problems[p.name] = sorted(bad)
    assert not problems, f"DAG files must stay thin: {problems}"


def test_platform_and_settings_import_only_the_standard_library_at_module_level() -> None:
    paths = [*(PKG / "platform").rglob("*.py"), PKG / "settings.py", *(PKG / "cli").rglob("*.py")]
    # Loaded by Airflow's own processes (the executor, the Celery config), never by the CLI.
    inside_airflow = {"local_executor.py": {"airflow"}, "celery_config.py": {"airflow", "celery"}}
    problems = {}
    for p in paths:
        tops = {n.split(".")[0] for n in _imports(p, True)}
        bad = tops - set(sys.stdlib_module_names) - {"airloop"} - inside_airflow.get(p.name, set())
        if bad:
            problems[str(p.relative_to(REPO))] = sorted(bad)
    assert not problems, problems


def test_cli_modules_import_no_private_name_of_another_module() -> None:
    """What the command groups share is public, in ``airloop.cli.common``."""
    problems = {}
    for p in (PKG / "cli").rglob("*.py"):
        tree = ast.parse(p.read_text(), filename=str(p))
        private = {
            f"{node.module}.{a.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            for a in node.names
            if a.name.startswith("_")
        }
        if private:
            problems[str(p.relative_to(REPO))] = sorted(private)
    assert not problems, problems


def test_patches_are_a_leaf_importing_libraries_only_inside_functions() -> None:
    """``airloop.patches`` never imports Airloop's Airflow adapters, CLI or loop, and at module
    level only the standard library and itself (each patch imports what it patches on install)."""
    problems = {}
    for p in (PKG / "patches").rglob("*.py"):
        forbidden = ("airloop.airflow", "airloop.cli", "airloop.loop")
        bad = {n for n in _imports(p, False) if n.startswith(forbidden)}
        tops = {n for n in _imports(p, True) if n.split(".")[0] not in sys.stdlib_module_names}
        bad |= {n for n in tops if not n.startswith("airloop.patches")}
        if bad:
            problems[str(p.relative_to(REPO))] = sorted(bad)
    assert not problems, problems


def test_each_heavy_library_has_exactly_one_home_module() -> None:
    homes = {
        "mlflow": "core/model/registry.py",
        "great_expectations": "core/data/validation.py",
        "evidently": "core/monitor/drift.py",
        "skops": "core/model/registry.py",
    }
    # A patch of a library's internals imports that library too (inside its install function).
    patched = {"great_expectations": "gx_vectorised_metrics.py"}
    problems = []
    for p in PKG.rglob("*.py"):
        for name in _imports(p, False):
            top = name.split(".")[0]
            if p.parent.name == "patches" and patched.get(top) == p.name:
                continue
            if top in homes and p.relative_to(PKG).as_posix() != homes[top]:
                problems.append(f"{p.relative_to(REPO)} imports {name}")
    assert not problems, problems


def test_nothing_outside_the_adapters_imports_them() -> None:
    """The CLI, the loop, the core, the platform and the bench reach the lake and the pipeline
    through ``airloop.project``; only DAG files and the adapters themselves import
    ``airloop.airflow`` (generated DAG files name it in templates, as text)."""
    paths = [p for p in PKG.rglob("*.py") if "airflow" not in p.relative_to(PKG).parts]
    paths += list((REPO / "bench").glob("*.py"))
    problems = {}
    for p in paths:
        bad = sorted(n for n in _imports(p, False) if n.startswith("airloop.airflow"))
        if bad:
            problems[str(p.relative_to(REPO))] = bad
    assert len(paths) > 40 and not problems, problems
