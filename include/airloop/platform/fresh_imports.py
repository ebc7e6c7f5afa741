"""Keep preloaded Airloop modules honest: a task process forked after their sources changed
imports the current code instead of the preloaded copy.

Preloading Airloop's own modules saves every task process ~35 ms (the DAG file's factory, the
spec's pydantic models, the core modules a task body imports), but a long-lived parent would
otherwise hand every later task the code as it was when the platform started. After each fork,
the child compares the preloaded sources' modification times with those at preload; if any
changed (or vanished), it forgets every module of the package, and the task imports them anew.
The check is a few dozen ``stat`` calls, well under a millisecond.
"""

from __future__ import annotations

import os
import sys

_watched: dict[str, dict[str, int | None]] = {}  # package → {source file: mtime_ns at preload}


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _modules(package: str) -> list[str]:
    return [n for n in sys.modules if n == package or n.startswith(f"{package}.")]


def snapshot(package: str) -> dict[str, int | None]:
    """Source file → modification time of every loaded module of ``package``."""
    files = (getattr(sys.modules[n], "__file__", None) for n in _modules(package))
    return {f: _mtime(f) for f in files if f}


def changed(package: str) -> list[str]:
    """Sources of ``package`` that changed since :func:`watch` recorded them."""
    return [f for f, seen in _watched.get(package, {}).items() if _mtime(f) != seen]


def forget_if_changed(package: str) -> bool:
    """Drop every loaded module of ``package`` from ``sys.modules`` if a source changed, so
    the next import reads the current code; returns whether it did."""
    if not changed(package):
        return False
    for name in _modules(package):
        del sys.modules[name]
    return True


def watch(package: str) -> None:
    """Record the loaded sources of ``package`` now, and check them in every forked child."""
    first = not _watched
    _watched[package] = snapshot(package)
    if first:
        os.register_at_fork(after_in_child=_after_fork)


def _after_fork() -> None:
    for package in list(_watched):
        if forget_if_changed(package):
            _watched.pop(package)  # this process now imports afresh: nothing left to check
