"""Let Airflow's scheduler loop count the task results it just handled as work done.

The scheduler loop sleeps ``[scheduler] scheduler_idle_sleep_time`` after a loop that queued
nothing and handled no executor events. Airflow 3.3's ``_process_executor_events`` returns the
events left in the buffer after it popped each one it handled, which is 0: a loop that has just
read "task finished" counts as idle and sleeps before the next loop queues the downstream task.
Measured on the bench loop: half the task hand-offs took ~230 ms (the 0.2 s sleep) instead of
~30 ms.

:func:`install` makes it return the number of events it was given. Run it in the scheduler's
process (``PreloadingLocalExecutor.start`` through ``airloop.patches.install_for``).

Upstream: not reported yet; reproduction (apache-airflow-core 3.3.2):
    run = dag.test()  # any DAG, for a real finished task instance ``ti``
    executor = LocalExecutor(); executor.event_buffer[ti.key] = (TaskInstanceState.SUCCESS, None)
    with create_session() as session:
        n = SchedulerJobRunner(job=Job())._process_executor_events(executor, session)
    assert n == 0 and not executor.event_buffer  # one event handled, reported as none
    # so _run_scheduler_loop counts the loop as idle and sleeps scheduler_idle_sleep_time
"""

from __future__ import annotations

from typing import Any

from airloop.patches._methods import original_method, replace_method


def install() -> None:
    """Patch ``SchedulerJobRunner._process_executor_events`` once per process (idempotent)."""
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    def make(original: Any) -> Any:
        def process_executor_events(self: Any, executor: Any, session: Any) -> int:
            received = len(executor.event_buffer)  # what the call below drains and handles
            return max(received, original(self, executor, session))

        return process_executor_events

    replace_method(SchedulerJobRunner, "_process_executor_events", make)


def upstream() -> Any:
    """Airflow's own ``SchedulerJobRunner._process_executor_events``, patched or not."""
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    return original_method(SchedulerJobRunner, "_process_executor_events")
