"""The stack profile end to end, and the faults production meets.

PostgreSQL holds Airflow's and MLflow's metadata, Celery workers on Redis run every task, MLflow
keeps artifacts in S3 and the lake is on S3. Then: a worker killed mid-training, the tracking
server down at promotion, the S3 endpoint stopped mid-ingest. One stack serves the module (it
takes a minute to start); the tests run in file order and build on the first one's champion.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest
import yaml

from _stack import StackUnderTest, running_stack
from _support import REPO, _Environ, free_port_block, http_json, platform_env
from airloop.platform import embedded, health, processes, stack, stack_setup
from airloop.platform.runner import wait_for

pytestmark = [pytest.mark.platform, pytest.mark.stack]
TRAIN = "bike_demand__train"


class Stack(StackUnderTest):
    def status(self) -> dict[str, Any]:
        done = self.cli("status", "bike_demand", "--json")
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    def versions(self) -> list[int]:
        query = "SELECT version FROM model_versions WHERE name = 'bike_demand'"
        rows = self.sql(self.config.mlflow_db, query)
        return sorted(v for (v,) in rows)

    def start(self, name: str) -> None:
        with _Environ(self.env):
            embedded.start_service(self.settings, name, "stack")


def _spec_changes() -> dict[str, Any]:
    spec = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())
    policy = {**spec["monitoring"]["policy"], "initial_min_days": 3}
    return {
        "training": {"min_rows": 40},  # three simulated days are enough for a first model
        "promotion": {"floor": 100000.0},
        "monitoring": {"policy": policy},
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Stack:
    env = platform_env(tmp_path_factory.mktemp("stack"), _spec_changes())
    env.update(
        AIRLOOP_STACK_NAME=f"airloop_t{os.getpid()}",
        AIRLOOP_S3_PORT=str(free_port_block(8)),  # SeaweedFS uses the port and the next 7
        AIRLOOP_REDIS_URL="redis://127.0.0.1:6379/11",
        AIRLOOP_TASK_HEARTBEAT_TIMEOUT="20",  # notice a killed worker within the test's patience
    )
    config = stack.load_stack(env)
    try:
        with running_stack(env):
            yield Stack(env)
    finally:
        stack_setup.drop_postgres(config)
        import redis

        redis.Redis.from_url(config.redis_url).flushdb()


def _worker_tasks(live: Stack) -> dict[str, list[str]]:
    """Per Celery worker, the task log paths it executed (from its own log)."""
    found = {}
    for name in stack.worker_names(live.config):
        text = (live.settings.logs_dir / f"{name}.log").read_text(errors="replace")
        found[name] = re.findall(r"Executing workload in Celery: .*?log_path='([^']+)'", text)
    return found


def test_the_loop_runs_on_celery_with_postgres_and_s3(live: Stack) -> None:
    done = live.cli("run", "bike_demand", "--start", "2012-05-01", "--days", "4", timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "(platform)" in done.stdout

    status = live.status()
    assert status["champion"]["version"] == 1 and status["validated_partitions"] == 4
    assert status["last_drift"]["date"] == "2012-05-04"
    assert status["last_drift"]["drift_share"] is not None

    # Celery workers executed the tasks (each names what it ran in its log).
    ran = [path for paths in _worker_tasks(live).values() for path in paths]
    for dag, task in [("ingest", "validate_batch"), ("train", "train_challenger"),
                      ("train", "promote_champion"), ("score", "score_partition"),
                      ("monitor", "measure_drift")]:  # fmt: skip
        assert any(f"dag_id=bike_demand__{dag}/" in p and f"task_id={task}/" in p for p in ran)

    # Airflow and MLflow metadata are in PostgreSQL, not in SQLite files.
    runs = dict(live.sql(live.config.airflow_db,
                         "SELECT dag_id, count(*) FROM dag_run GROUP BY dag_id"))  # fmt: skip
    assert {f"bike_demand__{d}" for d in ("ingest", "score", "monitor", "train")} <= set(runs)
    queues = live.sql(live.config.airflow_db, "SELECT DISTINCT queue FROM task_instance")
    assert queues == [(live.config.queue,)]
    assert live.versions() == [1]
    assert not (live.settings.airflow_home / "airflow.db").exists()
    assert not (live.settings.mlflow_dir / "mlflow.db").exists()

    # Lake objects and MLflow artifacts are in the bucket.
    keys = live.keys()
    for prefix in ("lake/bike_demand/raw/date=2012-05-04/",
                   "lake/bike_demand/validated/date=2012-05-04/",
                   "lake/bike_demand/predictions/date=2012-05-04/",
                   "lake/bike_demand/monitor/date=2012-05-04/"):  # fmt: skip
        assert any(k.startswith(prefix) for k in keys), (prefix, keys[:20])
    assert any(k.startswith("mlflow/") and k.endswith("MLmodel") for k in keys)


class _Load:
    """Requests to the stack's model server from two threads until stopped."""

    def __init__(self, live: Stack) -> None:
        from airloop.core.simulators.simulator import simulate_day
        from airloop.spec import load_pipeline

        with _Environ(live.env):
            features = load_pipeline("bike_demand").features
        rows = json.loads(simulate_day(date(2012, 6, 2), seed=5)[features].head(2).to_json(
            orient="records"))  # fmt: skip
        self.url = f"{live.settings.serving_url}/v1/models/bike_demand/predict"
        self.body, self.token = {"rows": rows}, live.secrets["serving_token"]
        self.failures: list[Any] = []
        self.versions: set[int] = set()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._hammer) for _ in range(2)]

    def _hammer(self) -> None:
        while not self.stop.is_set():
            status, body, _ = http_json(self.url, self.body, self.token)
            if status == 200:
                self.versions.add(body["model_version"])
            else:
                self.failures.append((status, body))
            time.sleep(0.05)

    def __enter__(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants at once (a worker node lost)."""
    for victim in processes.tree(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def _ti(live: Stack, run_id: str, task_id: str) -> dict[str, Any]:
    path = f"/api/v2/dags/{TRAIN}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
    return live.client.get(path)


def test_a_worker_killed_mid_training_is_retried_and_registers_one_version(live: Stack) -> None:
    assert live.versions() == [1], "needs the first test's champion"
    conf = {"end_date": "2012-05-04", "force": True, "reason": "fault test: worker killed"}
    run_id = live.client.trigger(TRAIN, conf=conf)["dag_run_id"]

    def running_on() -> str | None:
        if _ti(live, run_id, "train_challenger")["state"] != "running":
            return None
        for worker, paths in _worker_tasks(live).items():
            if any(run_id in p and "task_id=train_challenger/" in p for p in paths):
                return worker
        return None

    worker = wait_for(running_on, 300, every_s=0.5)
    _kill_tree(live.record(worker).pid)

    with _Load(live) as load:  # the promotion this run ends with flips the served model
        finished = live.client.wait_for_run(TRAIN, run_id, 900)
        assert finished["state"] == "success", live.client.task_instances(TRAIN, run_id)
        wait_for(lambda: 2 in load.versions, 60)
    assert _ti(live, run_id, "train_challenger")["try_number"] >= 2
    survivors = [
        w
        for w, paths in _worker_tasks(live).items()
        if w != worker and any(run_id in p and "task_id=train_challenger/" in p for p in paths)
    ]
    assert survivors, "the retry ran on the surviving worker"
    assert live.versions() == [1, 2], "one model version for the run, despite the retry"
    assert live.status()["champion"]["version"] == 2
    assert not load.failures, load.failures[:5]
    assert load.versions == {1, 2}

    # The model server is behind its token and checks payloads against the signature.
    url, token = load.url, live.secrets["serving_token"]
    assert http_json(url, load.body, None)[0] == 401
    assert http_json(url, {"rows": [{"hr": "noon"}]}, token)[0] == 422
    live.start(worker)  # back to two workers for the next tests


def test_mlflow_down_at_promotion_leaves_the_champion_and_fails_clearly(live: Stack) -> None:
    assert live.status()["champion"]["version"] == 2, "needs the previous test's champion"
    pool = "/api/v2/pools/airloop_promotion"

    def slots(n: int) -> None:
        body = {"pool": "airloop_promotion", "slots": n, "include_deferred": False}
        live.client.patch(pool, body)

    slots(0)  # hold the promotion until MLflow is down
    try:
        conf = {"end_date": "2012-05-04", "force": True, "reason": "fault test: MLflow down"}
        run_id = live.client.trigger(TRAIN, conf=conf)["dag_run_id"]
        wait_for(lambda: _ti(live, run_id, "promote_champion")["state"] == "scheduled", 600)
        mlflow = live.record("mlflow")
        os.killpg(mlflow.pgid, signal.SIGKILL)
        wait_for(lambda: not health.mlflow_healthy(live.settings.mlflow_url), 30)
    finally:
        slots(1)
    finished = live.client.wait_for_run(TRAIN, run_id, 600)
    assert finished["state"] == "failed"
    promote = _ti(live, run_id, "promote_champion")
    assert promote["state"] == "failed"
    log = _task_log(live, run_id, "promote_champion", promote["try_number"])
    assert "MLflow tracking server" in log and "is unreachable" in log, log[-3000:]
    assert "@champion stays v2" in log

    live.start("mlflow")
    wait_for(lambda: health.mlflow_healthy(live.settings.mlflow_url), 120)
    status = live.status()
    assert status["champion"]["version"] == 2
    assert live.versions() == [1, 2, 3]
    assert not [e for e in status["ledger"] if e["to_version"] == 3 and e["action"] == "promote"]
    assert status["ledger"], "the earlier promotions are in the ledger"


def _task_log(live: Stack, run_id: str, task_id: str, try_number: int) -> str:
    folder = live.settings.logs_dir / "tasks" / f"dag_id={TRAIN}" / f"run_id={run_id}"
    return (folder / f"task_id={task_id}" / f"attempt={try_number}.log").read_text()


def test_s3_stopped_mid_ingest_fails_clearly_publishes_nothing_and_reruns(live: Stack) -> None:
    ingest, day = "bike_demand__ingest", "2012-05-06"
    run_id = live.client.trigger(ingest, conf={"date": day})["dag_run_id"]
    path = f"/api/v2/dags/{ingest}/dagRuns/{quote(run_id, safe='')}/taskInstances/land_raw"
    wait_for(lambda: live.client.get(path)["state"] in ("running", "success"), 300, every_s=0.2)
    s3 = live.record("s3")
    os.killpg(s3.pgid, signal.SIGTERM)  # what `airloop down` sends (the objects are on disk)
    wait_for(lambda: not processes.record_alive(s3), 30)

    finished = live.client.wait_for_run(ingest, run_id, 600)
    assert finished["state"] == "failed"
    tasks = live.client.task_instances(ingest, run_id)
    failed = [t for t in tasks if t["state"] == "failed"]
    assert failed, tasks
    folder = live.settings.logs_dir / "tasks" / f"dag_id={ingest}" / f"run_id={run_id}"
    first = failed[0]
    log = (
        folder / f"task_id={first['task_id']}" / f"attempt={first['try_number']}.log"
    ).read_text()
    assert live.config.endpoint.split("//")[1] in log, log[-3000:]  # it names the endpoint
    if first["task_id"] in ("land_raw", "publish_validated"):  # lake writes say what failed
        assert "object storage unreachable" in log, log[-3000:]

    live.start("s3")
    wait_for(lambda: _reachable(live), 60)
    assert not live.keys(f"lake/bike_demand/validated/date={day}/"), "nothing partial published"
    again = live.client.trigger(ingest, conf={"date": day})["dag_run_id"]
    assert live.client.wait_for_run(ingest, again, 600)["state"] == "success"
    published = live.keys(f"lake/bike_demand/validated/date={day}/")
    assert any(k.endswith("_manifest.json") for k in published)
    assert live.keys("lake/bike_demand/validated/date=2012-05-04/"), "earlier objects survived"


def _reachable(live: Stack) -> bool:
    try:
        live.keys("lake/")
        return True
    except Exception:
        return False


def test_every_endpoint_of_the_stack_wants_credentials(live: Stack) -> None:
    import base64
    import urllib.error
    import urllib.request

    def status(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> int:
        req = urllib.request.Request(url, data=body, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    s = live.settings
    search = f"{s.mlflow_url}/api/2.0/mlflow/registered-models/search"
    assert status(search) == 401
    basic = base64.b64encode(f"admin:{live.secrets['mlflow_admin_password']}".encode()).decode()
    assert status(search, {"Authorization": f"Basic {basic}"}) == 200
    wrong = base64.b64encode(b"admin:password1234").decode()  # MLflow's old default password
    assert status(search, {"Authorization": f"Basic {wrong}"}) == 401
    assert status(f"{s.airflow_url}/api/v2/dags") == 401
    login = json.dumps({"username": "admin", "password": "admin"}).encode()
    assert status(f"{s.airflow_url}/auth/token", {"Content-Type": "application/json"}, login) in (
        401,
        403,
    )
    assert status(f"{s.serving_url}/v1/models") == 401
