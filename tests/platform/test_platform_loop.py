"""The closed loop on the running platform: only ingest is triggered; the Asset chain
(validated → score → predictions → monitor → retrain_request → train) runs on the scheduler."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from _support import REPO, platform_env, seed_validated
from airloop.core.data.lake import Lake
from airloop.platform import embedded, processes
from airloop.platform.rest import AirflowClient
from airloop.platform.runner import wait_for
from airloop.settings import load_settings

pytestmark = pytest.mark.platform


@pytest.fixture(scope="module")
def loop_platform(tmp_path_factory: pytest.TempPathFactory):
    """The platform on private ports and state, with 20 validated days already in the lake.

    One platform serves the module (starting one costs minutes); the tests run in file order.
    """
    tmp_path = tmp_path_factory.mktemp("loop")
    env = platform_env(tmp_path)
    fired = tmp_path / "failpoints"
    fired.mkdir()
    (fired / "ingest.before_event.fired").write_text("disarmed")  # armed by the reconcile test
    env.update(AIRLOOP_FAILPOINTS="ingest.before_event=sleep:6", AIRLOOP_FAILPOINT_DIR=str(fired))
    settings = load_settings(env)
    seed_validated(settings.home / "lake", "bike_demand", date(2012, 5, 1), 20, seed=42)
    up = subprocess.run(["make", "-C", str(REPO), "up"], env=env, capture_output=True,
                        text=True, timeout=900, check=False)  # fmt: skip
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    password = json.loads((settings.home / "secrets.json").read_text())["admin_password"]
    yield AirflowClient(settings.airflow_url, "admin", password), settings, env
    subprocess.run(["make", "-C", str(REPO), "down"], env=env, capture_output=True, timeout=300,
                   check=False)  # fmt: skip
    processes.stop_all(processes.read_records(settings.run_dir), embedded.marker(settings))


def test_the_asset_chain_runs_the_loop_on_the_scheduler(loop_platform) -> None:
    client, settings, env = loop_platform
    exe = str(REPO / ".venv" / "bin" / "airloop")
    argv = [exe, "run", "bike_demand", "--start", "2012-05-21", "--days", "2"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1500, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "(platform)" in done.stdout and "Traceback" not in done.stderr
    # The table's champion column reads the platform's registry (it said "-" when the CLI's
    # MLflow client was not pointed at the platform's server).
    assert any(line.startswith("2012-05-22") and " v1 " in line
               for line in done.stdout.splitlines()), done.stdout  # fmt: skip

    def runs(dag_id: str) -> list[dict]:
        return client.get(f"/api/v2/dags/{dag_id}/dagRuns?limit=50")["dag_runs"]

    # Only ingest was triggered by hand; the rest ran because of Asset events.
    assert {r["run_type"] for r in runs("bike_demand__ingest")} >= {"manual"}
    for stage in ("score", "monitor", "train"):
        found = runs(f"bike_demand__{stage}")
        assert found and {r["run_type"] for r in found} == {"asset_triggered"}, (stage, found)
        assert all(r["state"] == "success" for r in found), found
    (train,) = runs("bike_demand__train")

    lake = Lake(settings.home / "lake", "bike_demand")
    assert lake.read("predictions", date(2012, 5, 22))["model_version"].eq(1).all()
    record = lake.manifest("monitor", date(2012, 5, 22))
    assert record["champion"] == 1 and record["drift"]["drift_share"] is not None
    first = lake.manifest("monitor", date(2012, 5, 21))
    assert first["decision"]["kind"] == "initial" and first["decision"]["action"] == "retrain"

    # The model server of the platform picked up the champion without a restart.
    import time

    from airloop.platform import health

    deadline = time.monotonic() + 60
    while health.get_json(f"{settings.serving_url}/health")["models"]["bike_demand"] != 1:
        assert time.monotonic() < deadline, "the model server did not pick up v1"
        time.sleep(1)

    # The evidence is one click away from the tasks.
    run_path = f"/api/v2/dags/bike_demand__train/dagRuns/{quote(train['dag_run_id'], safe='')}"
    links = client.get(f"{run_path}/taskInstances/train_challenger/links")
    assert (links.get("extra_links") or links)["Model version"].startswith(settings.mlflow_url)


def _queued(db: Path, dag_id: str) -> int:
    with sqlite3.connect(db) as conn:
        query = "SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = ?"
        return conn.execute(query, (dag_id,)).fetchone()[0]


def test_a_deleted_queued_asset_event_is_reconciled_once(loop_platform) -> None:
    """Airflow can lose a queued Asset event (apache/airflow#56050): here it is deleted from the
    metadata database before the scheduler sees it. The day is never scored, until the
    reconcile DAG announces it again; a second reconcile announces nothing."""
    client, settings, env = loop_platform
    score, day = "bike_demand__score", "2012-05-23"
    db = settings.airflow_home / "airflow.db"
    scheduler = {r.name: r for r in processes.read_records(settings.run_dir)}["scheduler"]
    score_runs = len(client.get(f"/api/v2/dags/{score}/dagRuns?limit=100")["dag_runs"])

    marker = Path(env["AIRLOOP_FAILPOINT_DIR"]) / "ingest.before_event.fired"
    marker.unlink()  # arm: the publish task sleeps before its event is registered
    ingest = client.trigger("bike_demand__ingest", conf={"date": day})["dag_run_id"]
    wait_for(marker.exists, 300, every_s=0.2)
    os.kill(scheduler.pid, signal.SIGSTOP)  # no new DAG runs while the event sits in the queue
    try:
        wait_for(lambda: _queued(db, score), 60, every_s=0.2)
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM asset_dag_run_queue WHERE target_dag_id = ?", (score,))
    finally:
        os.kill(scheduler.pid, signal.SIGCONT)
    assert client.wait_for_run("bike_demand__ingest", ingest, 300)["state"] == "success"
    lake = Lake(settings.home / "lake", "bike_demand")
    assert lake.manifest("validated", date(2012, 5, 23)) is not None
    time.sleep(10)  # the scheduler had its chance: the day stays unscored
    assert len(client.get(f"/api/v2/dags/{score}/dagRuns?limit=100")["dag_runs"]) == score_runs
    assert lake.manifest("predictions", date(2012, 5, 23)) is None

    # The task reads the spec at run time: no grace, and only the newest days.
    spec_file = Path(env["AIRLOOP_PIPELINES_DIR"]) / "bike_demand.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    spec["reconcile"] = {"grace_minutes": 0, "lookback_days": 1}
    spec_file.write_text(yaml.safe_dump(spec))

    def reconcile() -> dict:
        run_id = client.trigger("bike_demand__reconcile")["dag_run_id"]
        assert client.wait_for_run("bike_demand__reconcile", run_id, 300)["state"] == "success"
        path = (f"/api/v2/dags/bike_demand__reconcile/dagRuns/{quote(run_id, safe='')}"
                "/taskInstances/reconcile/xcomEntries/return_value")  # fmt: skip
        return client.get(path)["value"]

    assert reconcile()["validated"] == [day]
    wait_for(lambda: lake.manifest("monitor", date(2012, 5, 23)), 600, every_s=1)
    assert lake.read("predictions", date(2012, 5, 23))["model_version"].eq(1).all()
    again = reconcile()
    assert not {"validated", "predictions"} & set(again), again
    found = client.get(f"/api/v2/dags/{score}/dagRuns?limit=100")["dag_runs"]
    assert len(found) == score_runs + 1 and all(r["state"] == "success" for r in found)
