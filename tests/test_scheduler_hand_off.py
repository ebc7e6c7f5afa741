"""The scheduler hands a finished task's successor to the executor without an idle sleep:
the executor waits for results of its own in-flight workloads, and a loop that handled task
results is not idle (the measured effect is in ``make bench``)."""

from __future__ import annotations

from pathlib import Path

from _support import REPO
from airloop.platform import scheduler_events


def test_a_loop_that_handled_task_results_is_not_counted_idle(
    airflow_db: Path, isolated_state: Path, isolated_mlflow: str
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.executors.local_executor import LocalExecutor
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    bag = DagBag(dag_folder=str(REPO / "dags" / "airloop_platform_check.py"))
    run = bag.get_dag("airloop__platform_check").test()  # real task instances in the database
    ti = next(t for t in run.get_task_instances() if t.task_id == "check_tracking_server")
    assert ti.state == TaskInstanceState.SUCCESS

    scheduler_events.install()
    scheduler_events.install()  # idempotent
    executor = LocalExecutor()
    executor.event_buffer[ti.key] = (TaskInstanceState.SUCCESS, None)  # the worker's last word
    with create_session() as session:
        handled = SchedulerJobRunner(job=Job())._process_executor_events(executor, session)
    assert handled == 1  # Airflow itself returns what is left in the buffer: 0, "idle"
    assert not executor.event_buffer


def test_the_executor_waits_only_for_workloads_whose_last_result_is_unread() -> None:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.utils.state import TaskInstanceState

    from airloop.platform.local_executor import PreloadingLocalExecutor

    executor = PreloadingLocalExecutor(parallelism=1)
    done, failed, running = (TaskInstanceKey("d", t, "r", 1) for t in ("done", "failed", "run"))
    executor._in_flight = {done, failed, running}
    executor.change_state(running, TaskInstanceState.RUNNING, remove_running=False)
    executor.change_state(done, TaskInstanceState.SUCCESS)
    executor.change_state(failed, TaskInstanceState.FAILED)
    assert executor._in_flight == {running}
