"""LocalExecutor whose workers start with the heavy ML libraries already imported.

The embedded profile's executor (``[core] executor`` in the generated airflow.cfg). LocalExecutor
forks all its workers from the scheduler in ``start()``; importing the libraries just before
means each task process inherits them (see ``airloop.platform.preload``).
"""

from __future__ import annotations

from airflow.executors.local_executor import LocalExecutor

from airloop.platform import sqlite_clock  # noqa: F401  (registers millisecond now() on SQLite)
from airloop.platform.preload import preload


class PreloadingLocalExecutor(LocalExecutor):
    def start(self) -> None:
        loaded = preload()
        self.log.info("Preloaded for task processes: %s", ", ".join(loaded) or "nothing")
        super().start()
