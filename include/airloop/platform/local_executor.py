"""LocalExecutor whose workers start with the heavy ML libraries already imported, and whose
scheduler hears about a finished task at once.

The embedded profile's executor (``[core] executor`` in the generated airflow.cfg). LocalExecutor
forks all its workers from the scheduler in ``start()``; importing the libraries just before
means each task process inherits them (see ``airloop.platform.preload``). The patches of
Airflow's internals it depends on are in ``airloop.patches`` (each guarded by version).
"""

from __future__ import annotations

import os

from airflow.executors.local_executor import LocalExecutor

from airloop import patches
from airloop.patches.executor_result_wait import WaitsForResults
from airloop.platform.preload import preload

# Every Airflow command imports this module (its CLI parser asks the configured executor for
# commands), the scheduler first among them: the SQL clock is registered on import, as before.
patches.install("sqlite_clock")


def _announce_ready() -> None:
    """Tell ``airloop up`` that tasks can run now: the scheduler is healthy (heartbeating) from
    its start, ~10 s before the preload is done, and a run triggered meanwhile waited for it."""
    from airloop.core.data.storage import atomic_write_bytes
    from airloop.settings import load_settings

    atomic_write_bytes(load_settings().executor_ready_file, str(os.getpid()).encode())


class PreloadingLocalExecutor(WaitsForResults, LocalExecutor):
    """``sync()`` waits briefly for a running task's result (``executor_result_wait``)."""

    def start(self) -> None:
        patches.install_for("task-supervisor")  # inherited by the workers this forks
        patches.install_for("scheduler")  # this runs in the scheduler's process
        loaded = preload()
        self.log.info("Preloaded for task processes: %s", ", ".join(loaded) or "nothing")
        self.log.info("Airloop patches installed: %s", ", ".join(patches.installed()) or "none")
        super().start()
        _announce_ready()
