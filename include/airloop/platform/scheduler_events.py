"""Let Airflow's scheduler loop count the task results it just handled as work done.

The scheduler loop sleeps ``[scheduler] scheduler_idle_sleep_time`` after a loop that queued
nothing and handled no executor events. Airflow 3.3's ``_process_executor_events`` returns the
events left in the buffer after it popped each one it handled, which is 0: a loop that has just
read "task finished" counts as idle and sleeps before the next loop queues the downstream task.
Measured on the bench loop: half the task hand-offs took ~230 ms (the 0.2 s sleep) instead of
~30 ms.

:func:`install` makes it return the number of events it was given. Run it in the scheduler's
process (``PreloadingLocalExecutor.start``).
"""

from __future__ import annotations

from typing import Any

_INSTALLED = "_airloop_counts_events"


def install() -> None:
    """Patch ``SchedulerJobRunner._process_executor_events`` once per process (idempotent)."""
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    original = SchedulerJobRunner._process_executor_events
    if getattr(original, _INSTALLED, False):
        return

    def process_executor_events(self: Any, executor: Any, session: Any) -> int:
        received = len(executor.event_buffer)  # what the call below drains and handles
        return max(received, original(self, executor, session))

    setattr(process_executor_events, _INSTALLED, True)
    SchedulerJobRunner._process_executor_events = process_executor_events  # type: ignore[method-assign]
