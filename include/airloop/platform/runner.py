"""Run a DAG as a real Airflow DAG run: on the running platform, or in-process without one.

With the platform up, the run is triggered through the REST API and executed by the scheduler
and its workers. Without it, ``dag.test()`` runs the same DAG in this process against the
project-local metadata database, so CLI commands work on a machine where `make up` never ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airloop.platform import embedded, health
from airloop.platform.secrets import ADMIN_USER
from airloop.settings import Settings


@dataclass
class RunResult:
    dag_id: str
    run_id: str
    state: str
    mode: str  # "platform" | "in-process"
    tasks: dict[str, str]
    xcom: dict[str, Any] = field(default_factory=dict)  # task_id → return value
    log: str | None = None


class RunFailed(RuntimeError):
    """A followed DAG run finished in another state than success."""

    def __init__(self, dag_id: str, run_id: str, state: str, tasks: dict[str, str]) -> None:
        super().__init__(f"{dag_id} run {run_id} {state}: {tasks}")
        self.result = RunResult(dag_id, run_id, state, "platform", tasks)


def platform_running(settings: Settings) -> bool:
    """The platform's Airflow API answers, so DAG runs go to it.

    Not "every component healthy": under load a health field lags (a scheduler heartbeat past
    its threshold) and a command run then silently in-process instead, beside the platform.
    """
    answer = health.get_json(f"{settings.airflow_url}/api/v2/monitor/health", timeout=15.0)
    return isinstance(answer, dict)


def run_dag(
    settings: Settings,
    dag_id: str,
    conf: dict[str, Any],
    xcom_tasks: tuple[str, ...] = (),
    timeout_s: float = 1800.0,
    in_process: bool | None = None,
) -> RunResult:
    """Run ``dag_id`` with ``conf`` and wait for it to finish (``in_process`` forces a mode)."""
    if in_process is None:
        in_process = not platform_running(settings)
    if not in_process:
        return _run_on_platform(settings, dag_id, conf, xcom_tasks, timeout_s)
    return _run_in_process(settings, dag_id, conf, xcom_tasks)


def _run_on_platform(
    settings: Settings,
    dag_id: str,
    conf: dict[str, Any],
    xcom_tasks: tuple[str, ...],
    timeout_s: float,
) -> RunResult:
    from airloop.platform.rest import AirflowApiError

    client = _client(settings)
    client.wait_for_dag(dag_id)
    run = client.trigger(dag_id, conf=conf)
    run_id = run["dag_run_id"]
    finished = client.wait_for_run(dag_id, run_id, timeout_s)
    tasks = {t["task_id"]: str(t["state"]) for t in client.task_instances(dag_id, run_id)}
    xcom = {}
    run_path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"
    for task_id in xcom_tasks:
        path = f"{run_path}/taskInstances/{task_id}/xcomEntries/return_value"
        with contextlib.suppress(AirflowApiError):
            xcom[task_id] = client.get(f"{path}?deserialize=true")["value"]
    return RunResult(dag_id, run_id, finished["state"], "platform", tasks, xcom)


def _client(settings: Settings) -> Any:
    from airloop.platform.rest import AirflowClient

    password = json.loads((settings.home / "secrets.json").read_text())["admin_password"]
    return AirflowClient(settings.airflow_url, ADMIN_USER, password)


def unpause(settings: Settings, dag_ids: list[str]) -> None:
    """Let the scheduler run these DAGs (new DAGs start paused; Asset schedules need them on)."""
    client = _client(settings)
    for dag_id in dag_ids:
        client.wait_for_dag(dag_id)
        client.patch(f"/api/v2/dags/{dag_id}", {"is_paused": False})


def wait_for(probe: Any, timeout_s: float, every_s: float = 1.0) -> Any:
    """Poll ``probe()`` until it returns something truthy; TimeoutError after ``timeout_s``."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout_s:.0f} s waiting for {probe}")
        time.sleep(every_s)


def follow_run(settings: Settings, dag_id: str, run_id: str, timeout_s: float = 1800.0) -> dict:
    """Wait for a run the scheduler started; fail with its task states unless it succeeded."""
    client = _client(settings)
    finished = client.wait_for_run(dag_id, run_id, timeout_s)
    if finished["state"] != "success":
        tasks = {t["task_id"]: str(t["state"]) for t in client.task_instances(dag_id, run_id)}
        raise RunFailed(dag_id, run_id, str(finished["state"]), tasks)
    return finished


def follow_asset_run(settings: Settings, dag_id: str, day: Any, timeout_s: float = 600.0) -> dict:
    """Find and wait for the Asset-triggered run of ``dag_id`` that carries partition ``day``."""
    client = _client(settings)
    wanted = day.isoformat()

    def carried(run: dict) -> bool:
        from airloop.platform.rest import AirflowApiError

        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run['dag_run_id'], safe='')}"
        try:
            events = client.get(f"{path}/upstreamAssetEvents").get("asset_events", [])
        except AirflowApiError:
            # Airflow 3.3 answers 500 while a run the event created has not started yet
            # (its response model requires start_date); it works once the run starts.
            return False
        return any(
            (e.get("extra") or {}).get("date") == wanted
            or wanted in ((e.get("extra") or {}).get("dates") or [])
            for e in events
        )

    def probe() -> dict | None:
        runs = client.get(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=10")
        for run in runs.get("dag_runs", []):
            if run.get("run_type") == "asset_triggered" and carried(run):
                return run
        return None

    client.wait_for_dag(dag_id)
    run = wait_for(probe, timeout_s, every_s=0.5)
    return follow_run(settings, dag_id, run["dag_run_id"], timeout_s)


@contextlib.contextmanager
def _output_to(log: Path):
    """Send this process's stdout/stderr (Airflow's task logging) to ``log`` for a while."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


_PREPARED: set[str] = set()
_DAGBAGS: dict[str, Any] = {}


def use_local_airflow(settings: Settings) -> None:
    """Point this process at the project-local Airflow home (before importing Airflow)."""
    if str(settings.home) in _PREPARED:
        return
    embedded.prepare(settings)
    env = embedded.service_env(settings)
    env.pop("AIRLOOP_SERVICE_OF", None)  # this CLI process is not a platform service
    if embedded.current_profile(settings) == "embedded":
        # Without the server, use its store directly (same database, same artifact root).
        env["MLFLOW_TRACKING_URI"] = local_tracking_uri(settings)
    os.environ.update(env)
    _PREPARED.add(str(settings.home))


def local_tracking_uri(settings: Settings) -> str:
    """The MLflow server when it runs, else its SQLite store directly."""
    if health.mlflow_healthy(settings.mlflow_url):
        return settings.mlflow_url
    return f"sqlite:///{settings.mlflow_dir / 'mlflow.db'}"


def _run_in_process(
    settings: Settings, dag_id: str, conf: dict[str, Any], xcom_tasks: tuple[str, ...]
) -> RunResult:
    use_local_airflow(settings)
    log = settings.logs_dir / "cli" / f"{dag_id}.log"
    with _output_to(log):
        from airflow.dag_processing.dagbag import DagBag

        # Parsed once per process: a loop runs many DAGs and parsing all files costs seconds.
        bag = _DAGBAGS.get(str(settings.dags_folder))
        if bag is None:
            bag = _DAGBAGS[str(settings.dags_folder)] = DagBag(str(settings.dags_folder))
        dag = bag.get_dag(dag_id)
        if dag is None:
            raise LookupError(f"DAG {dag_id} not found; import errors: {bag.import_errors}")
        dag_run = dag.test(run_conf=conf)
    return result_of(dag_run, xcom_tasks, str(log))


def result_of(dag_run: Any, xcom_tasks: tuple[str, ...], log: str | None = None) -> RunResult:
    """A ``RunResult`` for a finished ``dag.test()`` run."""
    tasks = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    xcom = _xcoms(dag_run.dag_id, dag_run.run_id, xcom_tasks)
    return RunResult(dag_run.dag_id, dag_run.run_id, str(dag_run.state), "in-process", tasks,
                     xcom, log)  # fmt: skip


def _xcoms(dag_id: str, run_id: str, task_ids: tuple[str, ...]) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    if not task_ids:
        return {}
    with create_session() as session:
        query = XComModel.get_many(
            run_id=run_id, dag_ids=dag_id, task_ids=list(task_ids), key="return_value"
        )
        return {r.task_id: XComModel.deserialize_value(r) for r in session.scalars(query).all()}
