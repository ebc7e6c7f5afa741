"""The closed loop on the running platform: only ingest is triggered; the Asset chain
(validated → score → predictions → monitor → retrain_request → train) runs on the scheduler."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

from _support import REPO, platform_env, seed_validated
from airloop.core.lake import Lake
from airloop.platform import embedded, processes
from airloop.platform.rest import AirflowClient
from airloop.settings import load_settings

pytestmark = pytest.mark.platform


@pytest.fixture
def loop_platform(tmp_path: Path):
    """The platform on private ports and state, with 20 validated days already in the lake."""
    env = platform_env(tmp_path)
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
