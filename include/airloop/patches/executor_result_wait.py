"""Let the embedded LocalExecutor's ``sync()`` wait briefly for a running task's result.

The scheduler loop sleeps ``scheduler_idle_sleep_time`` whenever a loop found nothing to do, and
only then reads the executor's results: a task that finished during that sleep waited for it
before its downstream task was queued, ~0.1 s on average for every task of a loop day (measured
on the bench's run timeline). Waiting in ``sync()`` instead, while tasks run and nothing is
queued, lets a finishing task wake the loop within 10 ms; the loop's other work (new runs,
timers) waits at most ``RESULT_WAIT_S`` longer. A workload whose worker died never reports: the
loop then waits that long instead of its idle sleep. Together with ``scheduler_events`` a
hand-off within a run went from ~160 ms to ~90 ms (median over the loop).

The executor subclass is Airflow's supported extension point; what is private is what this
relies on: ``LocalExecutor._process_workloads`` (every workload sent to the workers) and its
``result_queue`` (results not read yet). Airflow 3.3's executors no longer fill
``self.running`` (always empty), so it cannot say which workloads still owe a result:
:class:`WaitsForResults` tracks them itself. :func:`install` enables it; where the patch is not
installed (outside its verified range), the mixin defers to ``LocalExecutor`` unchanged.

Upstream: not reported yet; reproduction (apache-airflow-core 3.3.2):
    executor = LocalExecutor(parallelism=1); executor.start()
    executor.queue_workload(ExecuteTask.make(ti), session)  # any task instance
    executor.heartbeat()  # trigger_tasks → _process_workloads: sent to a worker
    assert executor.running == set()  # although the task runs: nothing adds to it any more
    # so len(running), open_slots and has_task() never see a running task
"""

from __future__ import annotations

import time
from typing import Any

# How long sync() waits for a running task to finish before the scheduler loop goes on.
RESULT_WAIT_S = 0.5
_POLL_S = 0.01
# A workload's last message from its worker (the first says it is running).
_FINAL_STATES = {"success", "failed"}

_enabled = False


def install() -> None:
    """Let :class:`WaitsForResults` track workloads and wait in ``sync()`` (idempotent)."""
    global _enabled
    _enabled = True


def enabled() -> bool:
    return _enabled


class WaitsForResults:
    """Mixin before ``LocalExecutor``: ``sync()`` waits up to ``RESULT_WAIT_S`` for a result
    while workloads it sent have not reported their final state and nothing is queued."""

    queued_tasks: dict[Any, Any]
    result_queue: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Workloads sent to the workers whose final result has not been read yet.
        self._in_flight: set[Any] = set()

    def _process_workloads(self, workload_list: Any) -> None:
        super()._process_workloads(workload_list)  # type: ignore[misc]
        if _enabled:
            self._in_flight.update(workload.key for workload in workload_list)

    def change_state(
        self, key: Any, state: Any, info: Any = None, remove_running: bool = True
    ) -> None:
        super().change_state(key, state, info, remove_running)  # type: ignore[misc]
        if getattr(state, "value", state) in _FINAL_STATES:
            self._in_flight.discard(key)

    def sync(self) -> None:
        """Read finished tasks, first waiting up to ``RESULT_WAIT_S`` for one while tasks run."""
        if _enabled and self._in_flight and not self.queued_tasks:
            deadline = time.monotonic() + RESULT_WAIT_S
            while self.result_queue.empty() and time.monotonic() < deadline:
                time.sleep(_POLL_S)
        super().sync()  # type: ignore[misc]
