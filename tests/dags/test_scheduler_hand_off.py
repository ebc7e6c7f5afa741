"""A scheduler loop that handled task results is not idle (``airloop.patches.scheduler_events``;
the measured effect is in ``make bench``), and unpatched Airflow still counts it idle. The
executor's own result wait is tested in tests/unit/test_patches.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _support import REPO
from airloop import patches
from airloop.patches import scheduler_events

_finished: dict[str, Any] = {}


@pytest.fixture
def finished_ti(airflow_db: Path, isolated_state: Path, isolated_mlflow: str) -> Any:
    """The key of a real task instance that succeeded, in the test database (one DAG run)."""
    if "key" in _finished:
        return _finished["key"]
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import TaskInstanceState

    bag = DagBag(dag_folder=str(REPO / "dags" / "airloop_platform_check.py"))
    run = bag.get_dag("airloop__platform_check").test()  # real task instances in the database
    ti = next(t for t in run.get_task_instances() if t.task_id == "check_tracking_server")
    assert ti.state == TaskInstanceState.SUCCESS
    _finished["key"] = ti.key
    return ti.key


def _handled(process_executor_events: Any, key: Any) -> tuple[int, dict]:
    """What ``_process_executor_events`` returns for the worker's last word on ``key``."""
    from airflow.executors.local_executor import LocalExecutor
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    executor = LocalExecutor()
    executor.event_buffer[key] = (TaskInstanceState.SUCCESS, None)
    with create_session() as session:
        returned = process_executor_events(SchedulerJobRunner(job=Job()), executor, session)
    return returned, executor.event_buffer


def test_a_loop_that_handled_task_results_is_not_counted_idle(finished_ti: Any) -> None:
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    assert patches.install("scheduler_events")
    scheduler_events.install()  # idempotent
    assert _handled(SchedulerJobRunner._process_executor_events, finished_ti) == (1, {})


def test_scheduler_events_upstream_still_needs_it(finished_ti: Any) -> None:
    returned, left = _handled(scheduler_events.upstream(), finished_ti)
    assert not left  # it handled the event...
    # ...and returned what is left in the buffer: 0, "idle"
    assert returned == 0, "upstream fixed this: remove patch scheduler_events"
