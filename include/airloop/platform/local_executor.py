"""LocalExecutor whose workers start with the heavy ML libraries already imported, and whose
scheduler hears about a finished task at once.

The embedded profile's executor (``[core] executor`` in the generated airflow.cfg). LocalExecutor
forks all its workers from the scheduler in ``start()``; importing the libraries just before
means each task process inherits them (see ``airloop.platform.preload``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from airflow.executors.local_executor import LocalExecutor

from airloop.platform import (
    scheduler_events,
    sqlite_clock,  # noqa: F401  (registers millisecond now() on SQLite)
    supervisor_exit,
)
from airloop.platform.preload import preload


def _announce_ready() -> None:
    """Tell ``airloop up`` that tasks can run now: the scheduler is healthy (heartbeating) from
    its start, ~10 s before the preload is done, and a run triggered meanwhile waited for it."""
    from airloop.core.storage import atomic_write_bytes
    from airloop.settings import load_settings

    atomic_write_bytes(load_settings().executor_ready_file, str(os.getpid()).encode())


# A workload's last message from its worker (the first says it is running).
_FINAL_STATES = {"success", "failed"}
# How long sync() waits for a running task to finish before the scheduler loop goes on.
RESULT_WAIT_S = 0.5
_POLL_S = 0.01


class PreloadingLocalExecutor(LocalExecutor):
    def start(self) -> None:
        supervisor_exit.install()  # inherited by the workers this forks
        scheduler_events.install()  # this runs in the scheduler's process
        loaded = preload()
        self.log.info("Preloaded for task processes: %s", ", ".join(loaded) or "nothing")
        # Workloads sent to the workers whose final result has not been read yet. Airflow 3.3's
        # executors no longer fill ``self.running`` (always empty here), so it cannot say.
        self._in_flight: set[Any] = set()
        super().start()
        _announce_ready()

    def _process_workloads(self, workload_list: Any) -> None:
        super()._process_workloads(workload_list)
        self._in_flight.update(workload.key for workload in workload_list)

    def change_state(
        self, key: Any, state: Any, info: Any = None, remove_running: bool = True
    ) -> None:
        super().change_state(key, state, info, remove_running)
        if getattr(state, "value", state) in _FINAL_STATES:
            self._in_flight.discard(key)

    def sync(self) -> None:
        """Read finished tasks, first waiting up to ``RESULT_WAIT_S`` for one while tasks run.

        The scheduler loop sleeps ``scheduler_idle_sleep_time`` whenever a loop found nothing
        to do, and only then reads this executor's results: a task that finished during that
        sleep waited for it before its downstream task was queued, ~0.1 s on average for every
        task of a loop day (measured on the bench's run timeline). Waiting here instead, while
        tasks run and nothing is queued, lets a finishing task wake the loop within 10 ms; the
        loop's other work (new runs, timers) waits at most this much longer. A workload whose
        worker died never reports: the loop then waits this long instead of its idle sleep.
        """
        if self._in_flight and not self.queued_tasks:
            deadline = time.monotonic() + RESULT_WAIT_S
            while self.result_queue.empty() and time.monotonic() < deadline:
                time.sleep(_POLL_S)
        super().sync()
