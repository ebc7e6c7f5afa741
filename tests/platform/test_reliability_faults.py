"""Reliability on the running platform: crashes at the dangerous moments converge.

A task process SIGKILLed right after registering its model version and right after flipping
``@champion`` (failpoints, ``airloop.core.failpoints``), then the scheduler SIGKILLed with its
LocalExecutor workers while a training task runs: each train run ends in success with one model
version and one MLflow run per Airflow run, one ``@champion`` and one ledger entry per run.
Real scheduler, task processes and MLflow server. One platform serves the module (starting one
costs minutes); the tests run in file order and the second builds on the first's champion.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from _support import REPO, _Environ, http_json, platform_env, seed_validated
from airloop.core.data.lake import Lake
from airloop.core.model import ledger
from airloop.platform import embedded, processes
from airloop.platform.rest import AirflowClient
from airloop.platform.runner import wait_for
from airloop.settings import Settings, load_settings

pytestmark = [pytest.mark.reliability, pytest.mark.platform, pytest.mark.timeout(1500)]
TRAIN = "bike_demand__train"
CONF = {"end_date": "2012-05-10", "reason": "reliability: fault injection"}
# Each fires once (a marker file in AIRLOOP_FAILPOINT_DIR), so the retry runs clean, as after a
# real crash. The sleep holds a training task still until the scheduler test kills it.
FAILPOINTS = {
    "train.after_register": "kill",
    "promote.after_alias": "kill",
    "train.before_success": "sleep:900",
}
SPEC = {"training": {"min_rows": 40}, "promotion": {"floor": 100000.0}}  # ten days suffice


def _make(env: dict[str, str], target: str, timeout: float) -> subprocess.CompletedProcess:
    # -o: never rebuild the venv this test runs from (a newer pyproject would reinstall airloop).
    argv = ["make", "-C", str(REPO), "-o", ".venv/.airloop-installed", target]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip


@dataclass
class Live:
    env: dict[str, str]
    settings: Settings
    client: AirflowClient
    fired: Path  # AIRLOOP_FAILPOINT_DIR

    def mlflow(self, path: str, body: Any = None, **query: str) -> dict[str, Any]:
        url = f"{self.settings.mlflow_url}/api/2.0/mlflow/{path}"
        status, answer, _ = http_json(f"{url}?{urlencode(query)}" if query else url, body)
        assert status == 200, (path, status, answer)
        return answer

    def versions(self, airflow_run_id: str | None = None) -> list[int]:
        """Registered versions of bike_demand (those an Airflow run registered, if given)."""
        flt = "name='bike_demand'"
        if airflow_run_id:
            flt += f" and tags.airflow_run_id='{airflow_run_id}'"
        found = self.mlflow("model-versions/search", filter=flt, max_results="1000")
        return sorted(int(v["version"]) for v in found.get("model_versions", []))

    def mlflow_runs(self, airflow_run_id: str) -> int:
        """MLflow training runs an Airflow run logged (a retry that retrained would add one)."""
        experiment = self.mlflow("experiments/get-by-name", experiment_name="bike_demand")
        body = {"experiment_ids": [experiment["experiment"]["experiment_id"]],
                "filter": f"tags.airflow_run_id = '{airflow_run_id}'"}  # fmt: skip
        return len(self.mlflow("runs/search", body).get("runs", []))

    def aliases(self) -> dict[str, list[int]]:
        """Alias → versions carrying it (MLflow allows one; a list shows it if that ever broke)."""
        model = self.mlflow("registered-models/get", name="bike_demand")["registered_model"]
        found: dict[str, list[int]] = {}
        for item in model.get("aliases", []):
            found.setdefault(item["alias"], []).append(int(item["version"]))
        return found

    def version_tags(self, version: int) -> dict[str, str]:
        mv = self.mlflow("model-versions/get", name="bike_demand", version=str(version))
        return {t["key"]: t["value"] for t in mv["model_version"].get("tags", [])}

    def ledger(self) -> list[dict[str, Any]]:
        return ledger.entries(Lake(self.settings.home / "lake", "bike_demand"))

    def ti(self, run_id: str, task_id: str) -> dict[str, Any]:
        run = quote(run_id, safe="")
        return self.client.get(f"/api/v2/dags/{TRAIN}/dagRuns/{run}/taskInstances/{task_id}")

    def attempt_log(self, run_id: str, task_id: str, attempt: int) -> str:
        folder = self.settings.logs_dir / "tasks" / f"dag_id={TRAIN}" / f"run_id={run_id}"
        return (folder / f"task_id={task_id}" / f"attempt={attempt}.log").read_text()

    def run(self, conf: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Trigger a train run and wait for it; returns its id and final state."""
        run_id = self.client.trigger(TRAIN, conf=conf)["dag_run_id"]
        return run_id, self.client.wait_for_run(TRAIN, run_id, 900)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("faults")
    fired = root / "failpoints"
    env = platform_env(root, SPEC)
    env.update(
        AIRLOOP_FAILPOINTS=",".join(f"{name}={action}" for name, action in FAILPOINTS.items()),
        AIRLOOP_FAILPOINT_DIR=str(fired),
    )
    settings = load_settings(env)
    seed_validated(settings.home / "lake", "bike_demand", date(2012, 5, 1), 10)
    fired.mkdir()
    # A marker means "already fired": the sleep stays off until the scheduler test arms it.
    (fired / "train.before_success.fired").write_text("disarmed")
    try:
        up = _make(env, "up", 900)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        password = json.loads((settings.home / "secrets.json").read_text())["admin_password"]
        client = AirflowClient(settings.airflow_url, "admin", password)
        client.wait_for_dag(TRAIN)
        yield Live(env, settings, client, fired)
    finally:
        _make(env, "down", 300)
        processes.stop_all(processes.read_records(settings.run_dir), embedded.marker(settings))


def test_task_killed_after_register_and_after_the_flip_converges(live: Live) -> None:
    run_id, finished = live.run(CONF)
    assert finished["state"] == "success", live.client.task_instances(TRAIN, run_id)

    # Both kills really happened: once each, the first try died of SIGKILL, a retry finished.
    for task_id, point in (
        ("train_challenger", "train.after_register"),
        ("promote_champion", "promote.after_alias"),
    ):
        assert (live.fired / f"{point}.fired").exists(), point
        assert live.ti(run_id, task_id)["try_number"] >= 2, task_id
        assert "SIGKILL" in live.attempt_log(run_id, task_id, 1), task_id

    # The retry reused the registered version (no second version, no second training run) and
    # finished its aliasing; the promotion's retry completed the flip's tags and its ledger entry.
    assert live.versions() == live.versions(run_id) == [1]
    assert live.mlflow_runs(run_id) == 1
    assert live.aliases() == {"champion": [1], "challenger": [1]}
    tags = live.version_tags(1)
    assert tags["airloop.promoted_at"] and tags["airloop.promotion_trigger"] == "initial"
    (entry,) = live.ledger()
    assert entry["key"] == ledger.entry_key(TRAIN, run_id)
    assert (entry["action"], entry["from_version"], entry["to_version"]) == ("promote", None, 1)


def _kill_tree(pid: int) -> list[int]:
    """SIGKILL ``pid`` and all its descendants at once; returns who was killed."""
    victims = processes.tree(pid)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    return victims


def test_scheduler_killed_mid_training_restarts_and_converges(live: Live) -> None:
    assert live.aliases().get("champion") == [1], "needs the first test's champion"
    marker = live.fired / "train.before_success.fired"
    marker.unlink()  # arm: the next training task sleeps once it has registered its version
    run_id = live.client.trigger(TRAIN, conf={**CONF, "force": True})["dag_run_id"]
    wait_for(marker.exists, 600, every_s=0.5)
    sleeping_task = int(marker.read_text())

    # With LocalExecutor the workers and their task processes are the scheduler's children: a
    # scheduler crash that is not a lone-process bug (its container, VM or cgroup lost, an OOM
    # kill of the group) takes them along. Killing only the scheduler pid would leave orphans
    # that any restart stops anyway, so the task dies either way; this is the honest model.
    scheduler = {r.name: r for r in processes.read_records(live.settings.run_dir)}["scheduler"]
    victims = _kill_tree(scheduler.pid)
    assert sleeping_task in victims, "the training task ran under the scheduler"
    wait_for(lambda: not any(processes.is_running(p) for p in victims), 30, every_s=0.2)
    assert live.ti(run_id, "train_challenger")["state"] == "running"  # what the crash left

    # Restarted at once, as a process supervisor would (systemd, Kubernetes): a quick restart
    # is the case where the new scheduler looks for orphans before the dead one counts as dead
    # (see orphaned_tasks_check_interval in airflow_config). `make up` recovers too, but it
    # stops and restarts the whole partial platform, a minute or two more.
    log = Path(scheduler.log)
    seen = len(log.read_text(errors="replace"))
    with _Environ(live.env):
        embedded.start_service(live.settings, "scheduler")
    finished = live.client.wait_for_run(TRAIN, run_id, 900)
    assert finished["state"] == "success", live.client.task_instances(TRAIN, run_id)
    assert live.ti(run_id, "train_challenger")["try_number"] >= 2
    assert "Reset the following 1 orphaned TaskInstances" in log.read_text(errors="replace")[seen:]

    # The task Airflow ran again found its version: nothing retrained or registered twice.
    assert live.versions(run_id) == [2] and live.versions() == [1, 2]
    assert live.mlflow_runs(run_id) == 1
    assert live.aliases() == {"champion": [2], "challenger": [2], "previous_champion": [1]}
    entries = live.ledger()
    assert len({e["key"] for e in entries}) == len(entries) == 2, entries
    last = entries[-1]
    assert last["key"] == ledger.entry_key(TRAIN, run_id)
    assert (last["action"], last["from_version"], last["to_version"]) == ("promote", 1, 2)
