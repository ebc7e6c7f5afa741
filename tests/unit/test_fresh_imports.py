"""Preloaded modules and changed sources: a forked task process runs the current code."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airloop.platform import fresh_imports

PACKAGE = "airloop_fresh_imports_probe"


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    source = tmp_path / PACKAGE
    source.mkdir()
    (source / "__init__.py").write_text("")
    (source / "mod.py").write_text("VALUE = 1\n")
    sys.path.insert(0, str(tmp_path))
    yield source / "mod.py"
    sys.path.remove(str(tmp_path))
    fresh_imports._watched.pop(PACKAGE, None)
    for name in [n for n in sys.modules if n.startswith(PACKAGE)]:
        del sys.modules[name]


def _in_fork_child() -> tuple[int, bool]:
    """(VALUE, whether the module object is the preloaded one) as a forked child sees it."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        try:
            module = importlib.import_module(f"{PACKAGE}.mod")
            os.write(write, f"{module.VALUE},{int(getattr(module, 'PRELOADED', False))}".encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    value, preloaded = answer.split(",")
    return int(value), preloaded == "1"


def test_a_child_keeps_the_preloaded_module_while_its_source_is_unchanged(package: Path) -> None:
    module = importlib.import_module(f"{PACKAGE}.mod")
    module.PRELOADED = True  # set after import: only the inherited module object has it
    fresh_imports.watch(PACKAGE)

    assert fresh_imports.changed(PACKAGE) == []
    assert _in_fork_child() == (1, True)


def test_a_child_imports_a_changed_source_anew(package: Path) -> None:
    module = importlib.import_module(f"{PACKAGE}.mod")
    module.PRELOADED = True
    fresh_imports.watch(PACKAGE)
    package.write_text("VALUE = 2\n")
    later = package.stat().st_mtime_ns + 1_000_000_000
    os.utime(package, ns=(later, later))  # a coarse filesystem clock must not hide the edit

    assert fresh_imports.changed(PACKAGE) == [str(package)]
    assert _in_fork_child() == (2, False)
    assert module.VALUE == 1  # the parent keeps what it preloaded; only children re-import


def test_a_deleted_source_counts_as_changed(package: Path) -> None:
    importlib.import_module(f"{PACKAGE}.mod")
    fresh_imports.watch(PACKAGE)
    package.unlink()

    assert fresh_imports.changed(PACKAGE) == [str(package)]
