"""`make up` → healthy → a DAG run through the REST API succeeds → `make down` leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _support import REPO, free_port
from airloop.platform import embedded, health, processes
from airloop.platform.rest import AirflowClient
from airloop.settings import load_settings

pytestmark = pytest.mark.platform


def _make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(REPO), target],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def platform_env(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLFLOW"))}
    env.update(
        AIRLOOP_HOME=str(tmp_path / "state"),
        AIRLOOP_AIRFLOW_PORT=str(free_port()),
        AIRLOOP_MLFLOW_PORT=str(free_port()),
        AIRLOOP_SERVING_PORT=str(free_port()),
    )
    yield env
    settings = load_settings(env)
    processes.stop_all(processes.read_records(settings.run_dir), embedded.marker(settings))


def test_up_run_a_dag_up_again_recover_and_down(platform_env: dict[str, str]) -> None:
    settings = load_settings(platform_env)
    started = time.monotonic()
    up = _make("up", platform_env)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    print(f"make up → healthy in {time.monotonic() - started:.1f}s")
    assert settings.airflow_url in up.stdout and settings.mlflow_url in up.stdout
    password = json.loads((settings.home / "secrets.json").read_text())["admin_password"]
    assert password in up.stdout

    assert health.airflow_healthy(settings.airflow_url)
    assert health.mlflow_healthy(settings.mlflow_url)
    st = embedded.status(settings)
    assert st.running and st.healthy
    # Task processes talk to the execution API: `up` waits until it has been built.
    assert st.airflow_components["execution_api"] == "healthy"
    # ... and until the scheduler's executor has preloaded: it names the running scheduler.
    assert st.executor_ready
    assert int(settings.executor_ready_file.read_text()) == st.services["scheduler"]
    print(f"{len(st.pids)} processes, {st.rss_bytes / 2**30:.2f} GiB resident")

    # A real DAG run, scheduled by the real scheduler and executed by LocalExecutor workers.
    client = AirflowClient(settings.airflow_url, "admin", password)
    client.wait_for_dag("airloop__platform_check")
    run = client.trigger("airloop__platform_check")
    finished = client.wait_for_run("airloop__platform_check", run["dag_run_id"], timeout_s=300)
    states = {
        t["task_id"]: t["state"]
        for t in client.task_instances("airloop__platform_check", run["dag_run_id"])
    }
    assert finished["state"] == "success", states
    assert list((settings.home / "lake" / "_platform" / "heartbeat").glob("*.json"))

    # The CLI triggers the real ingest DAG on the running platform (GX in a worker process).
    ingest = subprocess.run(
        [
            str(Path(sys.executable).parent / "airloop"),
            "ingest",
            "bike_demand",
            "--date",
            "2012-06-05",
        ],
        env=platform_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert "success (platform)" in ingest.stdout and "validated:" in ingest.stdout
    assert (settings.home / "lake" / "bike_demand" / "validated" / "date=2012-06-05").exists()

    # Wrong credentials are refused (no default login).
    with pytest.raises(Exception, match=r"401|403"):
        AirflowClient(settings.airflow_url, "admin", "admin").token()

    # `make up` on a healthy platform changes nothing.
    pids_before = embedded.status(settings).services
    again = _make("up", platform_env)
    assert again.returncode == 0 and "already running" in again.stdout
    assert embedded.status(settings).services == pids_before

    # A crashed service: `airloop status` names it, `make up` starts it alone again.
    os.killpg(pids_before["triggerer"], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while embedded.status(settings).services["triggerer"] is not None:
        assert time.monotonic() < deadline, "killed triggerer still reported running"
        time.sleep(0.2)
    assert not embedded.status(settings).healthy
    exe = str(Path(sys.executable).parent / "airloop")
    told = subprocess.run([exe, "status"], env=platform_env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert told.returncode == 1 and "DOWN (airloop up restarts it)" in told.stdout, told.stdout
    assert [ln.split()[0] for ln in told.stdout.splitlines() if "DOWN" in ln] == ["triggerer"]
    recovered = _make("up", platform_env)
    assert recovered.returncode == 0, recovered.stdout[-3000:] + recovered.stderr[-3000:]
    assert "Restarting what is down: triggerer; the rest keeps running." in recovered.stdout
    after = embedded.status(settings)
    assert after.healthy
    assert after.services["triggerer"] not in (None, pids_before["triggerer"])
    assert {k: v for k, v in after.services.items() if k != "triggerer"} == {
        k: v for k, v in pids_before.items() if k != "triggerer"}  # fmt: skip

    records_before = processes.read_records(settings.run_dir)
    every_pid_seen = embedded.status(settings).pids
    assert len(every_pid_seen) >= 10  # workers, serve-logs, uvicorn children are all found
    down = _make("down", platform_env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert processes.marked_pids(embedded.marker(settings)) == []
    assert processes.platform_pids(records_before, embedded.marker(settings)) == []
    assert all(not processes.is_running(pid) for pid in every_pid_seen)
    after = embedded.status(settings)
    assert not any(after.services.values())
    assert after.airflow_components is None and not after.mlflow_healthy
    assert not after.executor_ready  # the marker names a scheduler that is gone

    # `make down` twice is harmless.
    assert _make("down", platform_env).returncode == 0
