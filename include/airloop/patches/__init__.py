"""Every runtime patch of a library's internals, listed in one place and guarded by version.

Each patch replaces or relies on something private in a library (Airflow, the Task SDK,
SQLAlchemy, Great Expectations). It is verified on one version range of that library: outside
it, :func:`install` leaves the library alone and logs a WARNING naming the patch, the version
found and the range it was verified on. Each module's docstring says what the patch fixes, what
it measured, and how to reproduce the upstream behaviour; ``tests/unit/test_patches.py`` checks both
the fix and that upstream still behaves that way (``test_<patch>_upstream_still_needs_it``).

A leaf package: it imports nothing of Airloop's Airflow adapters, CLI or loop, and the libraries
it patches only inside the install functions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from airloop.patches import (
    executor_result_wait,
    gx_vectorised_metrics,
    scheduler_events,
    sqlite_clock,
    supervisor_exit,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Patch:
    """One patch: where it is installed, on what it was verified, and what it works around."""

    name: str  # the module of this package that holds it
    process: str  # where it is installed: "scheduler", "task-supervisor", "gx"
    distribution: str  # the library whose internals it touches
    verified: str  # version specifiers it was verified on, e.g. ">=3.3.0,<3.4"
    upstream: str  # the upstream behaviour it works around, in one line
    install: Callable[[], None]

    @property
    def requirement(self) -> str:
        return f"{self.distribution}{self.verified}"


PATCHES: tuple[Patch, ...] = (
    Patch(
        "scheduler_events", "scheduler", "apache-airflow-core", ">=3.3.0,<3.4",
        "SchedulerJobRunner._process_executor_events returns the events left in the buffer "
        "(always 0), so a loop that handled task results counts as idle and sleeps",
        scheduler_events.install,
    ),
    Patch(
        "executor_result_wait", "scheduler", "apache-airflow-core", ">=3.3.0,<3.4",
        "executors no longer fill BaseExecutor.running, so a LocalExecutor subclass cannot tell "
        "which workloads still owe a result without tracking _process_workloads itself",
        executor_result_wait.install,
    ),
    Patch(
        "sqlite_clock", "scheduler", "sqlalchemy", ">=2.1,<2.2",
        "SQLAlchemy renders now() as CURRENT_TIMESTAMP on SQLite (whole seconds), so Airflow's "
        "run_after <= now() finds a run created this second not yet due",
        sqlite_clock.install,
    ),
    Patch(
        "supervisor_exit", "task-supervisor", "apache-airflow-task-sdk", ">=1.3.0,<1.4",
        "WatchedSubprocess._service_subprocess sleeps min_heartbeat_interval on an empty "
        "selector when the task process closed its sockets just before it exited",
        supervisor_exit.install,
    ),
    Patch(
        "gx_vectorised_metrics", "gx", "great-expectations", ">=1.24,<1.25",
        "GX's pandas column_pair_values.in_set uses DataFrame.iterrows and "
        "column_values.match_strftime_format calls strptime once per row",
        gx_vectorised_metrics.install,
    ),
)  # fmt: skip

_installed: dict[str, Patch] = {}


def found_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def verified_on(patch: Patch, found: str | None) -> bool:
    """Whether ``found`` lies in the range ``patch`` was verified on (pre-releases included)."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    if found is None:
        return False
    try:
        return SpecifierSet(patch.verified, prereleases=True).contains(Version(found))
    except InvalidVersion:
        return False


def install(name: str) -> bool:
    """Install one patch once per process (idempotent); returns whether it is installed.

    Outside its verified range it is not installed, and a WARNING says why.
    """
    patch = next((p for p in PATCHES if p.name == name), None)
    if patch is None:
        raise KeyError(f"no such patch: {name!r} (known: {', '.join(p.name for p in PATCHES)})")
    if name in _installed:
        return True
    found = found_version(patch.distribution)
    if not verified_on(patch, found):
        log.warning(
            "airloop patch %s not installed: %s %s found, verified on %s (upstream: %s)",
            name, patch.distribution, found or "(not installed)", patch.requirement,
            patch.upstream,
        )  # fmt: skip
        return False
    patch.install()
    _installed[name] = patch
    return True


def install_for(process: str) -> list[str]:
    """Install every patch of ``process``; returns the names now installed."""
    names = [patch.name for patch in PATCHES if patch.process == process]
    if not names:
        raise KeyError(f"no patches for process {process!r}")
    return [name for name in names if install(name)]


def installed() -> tuple[str, ...]:
    """Names of the patches installed in this process, in registry order."""
    return tuple(patch.name for patch in PATCHES if patch.name in _installed)


def is_installed(name: str) -> bool:
    return name in _installed
