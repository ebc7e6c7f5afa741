"""Chaos on the stack profile: every service killed (or restarted) during a ten-day loop.

One day at a time, while that day's chain is in flight, one fault: ``kill -9`` of the scheduler,
the api-server, MLflow (mid-training), a Celery worker, the S3 server, the model server, the
dag-processor and the triggerer, then a restart of PostgreSQL and of Redis (left running). The
recovery is the documented one: ``airloop up`` (it restarts only what is down), and for work a
failed run dropped, the reconcile DAG. The loop must end with every day ingested once, no
duplicate model version, the ledger agreeing with the aliases, and every write acknowledged
before a fault still there. The fault × outcome × recovery-time table goes to the README.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from _backing import PrivatePostgres, PrivateRedis
from _stack import StackUnderTest, running_stack
from _support import REPO, free_port, free_port_block, http_json, platform_env
from airloop.platform import processes, stack_setup

pytestmark = [pytest.mark.chaos, pytest.mark.platform, pytest.mark.stack,
              pytest.mark.timeout(2700)]  # fmt: skip
PIPELINE, START = "bike_demand", date(2012, 5, 1)
STAGES = ("ingest", "score", "monitor", "train")
# (fault, the DAG whose running run it waits for): MLflow dies while a model trains.
FAULTS = [
    ("scheduler", "ingest"), ("api-server", "ingest"), ("mlflow", "train"),
    ("celery-worker-1", "ingest"), ("s3", "ingest"), ("model-server", "ingest"),
    ("dag-processor", "ingest"), ("triggerer", "ingest"), ("postgresql", "ingest"),
    ("redis", "ingest"),
]  # fmt: skip
DURABLE = ("_manifest.json", ".json", "MLmodel", "model.pkl", ".parquet")


def _patient(call, timeout_s: float = 180) -> Any:
    """``call()``, retried while a service is down (refused, 5xx) for up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


class Chaos(StackUnderTest):
    def __init__(self, env: dict[str, str], pg: PrivatePostgres, redis: PrivateRedis) -> None:
        super().__init__(env)
        self.pg, self.redis = pg, redis
        self.s3 = stack_setup.s3_client(self.config, self.secrets)

    def get(self, path: str) -> Any:
        return _patient(lambda: self.client.get(path))

    def runs(self, stage: str, states: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        query = "".join(f"&state={s}" for s in states)
        return self.get(f"/api/v2/dags/{PIPELINE}__{stage}/dagRuns?limit=200{query}")["dag_runs"]

    def active(self) -> int:
        return sum(len(self.runs(s, ("queued", "running"))) for s in (*STAGES, "reconcile"))

    def trigger(self, stage: str, conf: dict[str, Any] | None = None) -> str:
        return _patient(lambda: self.client.trigger(f"{PIPELINE}__{stage}", conf=conf))[
            "dag_run_id"
        ]

    def keys(self, prefix: str = "") -> list[str]:
        return _patient(lambda: super(Chaos, self).keys(prefix))

    def manifest(self, zone: str, day: date) -> dict[str, Any] | None:
        key = f"lake/{PIPELINE}/{zone}/date={day.isoformat()}/_manifest.json"
        try:
            body = self.s3.get_object(Bucket=self.config.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def mlflow_sql(self, query: str) -> list[tuple]:
        return _patient(lambda: self.sql(self.config.mlflow_db, query))


@pytest.fixture(scope="module")
def chaos(tmp_path_factory) -> Chaos:
    root = tmp_path_factory.mktemp("chaos")
    pg, redis = PrivatePostgres(free_port()), PrivateRedis(free_port(), root / "redis")
    pg.start()
    redis.start()
    spec = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())
    changes = {
        "training": {"min_rows": 40},  # three simulated days are enough for a first model
        "promotion": {"floor": 100000.0},
        "monitoring": {"policy": {**spec["monitoring"]["policy"], "initial_min_days": 3}},
        "reconcile": {"grace_minutes": 0, "lookback_days": 14},
    }
    env = platform_env(root, changes)
    env.update(
        AIRLOOP_STACK_NAME="airloop_chaos", AIRLOOP_PG_ADMIN_URL=pg.url,
        AIRLOOP_REDIS_URL=redis.url, AIRLOOP_S3_PORT=str(free_port_block(8)),
        AIRLOOP_TASK_HEARTBEAT_TIMEOUT="20",  # a killed worker's task is noticed in 20 s
        AIRLOOP_TASK_QUEUED_TIMEOUT="60",  # a hand-off the killed scheduler lost: requeued
        AIRLOOP_RETRY_DELAY_S="10",  # retries at ~10 s and ~20 s outlast most restarts
    )  # fmt: skip
    try:
        with running_stack(env):
            live = Chaos(env, pg, redis)
            for stage in ("score", "monitor", "train", "reconcile"):  # the Asset chain's consumers
                live.client.wait_for_dag(f"{PIPELINE}__{stage}")
                live.client.patch(f"/api/v2/dags/{PIPELINE}__{stage}", {"is_paused": False})
            yield live
    finally:
        redis.close()
        pg.close()


def _inflict(chaos: Chaos, fault: str) -> None:
    if fault == "postgresql":
        chaos.pg.restart()
    elif fault == "redis":
        chaos.redis.restart()
    else:  # a lost process: the leader and everything under it, no clean-up
        for pid in processes.tree(chaos.record(fault).pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while processes.record_alive(chaos.record(fault)):
            assert time.monotonic() < deadline, f"{fault} survived SIGKILL"
            time.sleep(0.2)


def _wait_running(chaos: Chaos, stage: str, since: set[str], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while not [r for r in chaos.runs(stage, ("running",)) if r["dag_run_id"] not in since]:
        assert time.monotonic() < deadline, f"no {stage} run started in {timeout_s:.0f}s"
        time.sleep(0.5)


def _converge(chaos: Chaos, day: date, timeout_s: float = 900) -> list[str]:
    """Wait until ``day`` is monitored and nothing runs; rerun a failed ingest and trigger the
    reconcile DAG when work is stalled (the documented recovery). Returns what it had to do."""
    actions: list[str] = []
    deadline, quiet, last_reconcile = time.monotonic() + timeout_s, 0, 0.0
    while time.monotonic() < deadline:
        busy = chaos.active()
        done = chaos.manifest("monitor", day) is not None
        quiet = 0 if busy else quiet + 1
        if done and quiet >= 3:  # quiet on three looks 2 s apart: no run is about to start
            return actions
        if quiet >= 3 and chaos.manifest("validated", day) is None:
            chaos.trigger("ingest", {"date": day.isoformat()})
            actions.append("ingest rerun")
            quiet = 0
        elif quiet >= 3 and time.monotonic() - last_reconcile > 30:
            # A service can die after `airloop up` returned (the scheduler, on its first query
            # to a PostgreSQL that is still shutting down): running `up` again is the recovery.
            again = chaos.cli("up")
            restarted = [ln for ln in again.stdout.splitlines() if "Restarting what is down" in ln]
            actions += [f"up again: {ln.split(':', 1)[1].strip()}" for ln in restarted]
            chaos.trigger("reconcile")
            actions.append("reconcile")
            last_reconcile, quiet = time.monotonic(), 0
        time.sleep(2)
    raise AssertionError(f"{day} did not converge in {timeout_s:.0f}s (actions {actions})")


def _durable_keys(chaos: Chaos) -> set[str]:
    """Committed objects that nothing may delete: manifests, raw batches, ledger, requests,
    claims, MLflow artifacts (part files of replaced partitions, locks and finished promotion
    intents may go)."""
    keys = chaos.keys()
    return {k for k in keys if k.endswith(DURABLE) and "/part-" not in k
            and "/ledger/pending/" not in k and "_airloop/" not in k}  # fmt: skip


def test_every_service_killed_mid_loop_loses_nothing(chaos: Chaos) -> None:
    table: list[dict[str, Any]] = []
    acknowledged: set[str] = set()
    succeeded: set[tuple[str, str]] = set()
    for i, (fault, when) in enumerate(FAULTS):
        day = START + timedelta(days=i)
        before = {r["dag_run_id"] for r in chaos.runs(when)}
        chaos.trigger("ingest", {"date": day.isoformat()})
        _wait_running(chaos, when, before)
        hit = time.monotonic()
        _inflict(chaos, fault)
        up = chaos.cli("up")
        up_s = time.monotonic() - hit
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        restarted = next((ln.split(":", 1)[1].split(";")[0].strip()
                          for ln in up.stdout.splitlines() if "Restarting what is down" in ln),
                         "nothing (already healthy)")  # fmt: skip
        actions = _converge(chaos, day)
        table.append({"fault": fault, "during": when, "restarted_by_up": restarted,
                      "up_s": round(up_s, 1), "recovered_s": round(time.monotonic() - hit, 1),
                      "recovery_actions": actions})  # fmt: skip
        # What was acknowledged so far must survive every later fault.
        acknowledged |= _durable_keys(chaos)
        succeeded |= {(s, r["dag_run_id"]) for s in STAGES for r in chaos.runs(s, ("success",))}
    report = Path(chaos.settings.home) / "chaos-table.json"
    report.write_text(json.dumps(table, indent=2))
    print(json.dumps(table, indent=2))

    # Every day ingested exactly once: one raw batch, one validated part, one successful run.
    days = [START + timedelta(days=i) for i in range(len(FAULTS))]
    for day in days:
        d = day.isoformat()
        assert len(chaos.keys(f"lake/{PIPELINE}/raw/date={d}/")) == 1, d
        validated = chaos.manifest("validated", day)
        parts = [k for k in chaos.keys(f"lake/{PIPELINE}/validated/date={d}/") if "/part-" in k]
        assert validated and [p.rsplit("/", 1)[1] for p in parts] == validated["files"], d
        ok = [r for r in chaos.runs("ingest", ("success",)) if r["conf"].get("date") == d]
        assert len(ok) == 1, (d, ok)
        assert chaos.manifest("monitor", day) is not None, d

    # No duplicate model versions: one version per training run that registered one.
    tagged = chaos.mlflow_sql("SELECT version, value FROM model_version_tags WHERE name = "
                              f"'{PIPELINE}' AND key = 'airflow_run_id'")  # fmt: skip
    versions = sorted(v for v, _ in tagged)
    assert versions and len({r for _, r in tagged}) == len(versions), tagged
    assert len(chaos.mlflow_sql(f"SELECT version FROM model_versions WHERE name = "
                                f"'{PIPELINE}'")) == len(versions)  # fmt: skip

    # The ledger agrees with the aliases, and no intent is left half-done.
    status = json.loads(chaos.cli("status", PIPELINE, "--json").stdout)
    flips = [e for e in status["ledger"] if e["action"] in ("promote", "rollback")]
    assert flips and status["champion"]["version"] == flips[-1]["to_version"], status
    assert status["previous_champion"] == flips[-1]["from_version"], status
    assert not chaos.keys(f"lake/{PIPELINE}/ledger/pending/")

    # No acknowledged write is missing: objects, runs, and the models the server answers with.
    missing = acknowledged - set(chaos.keys())
    assert not missing, sorted(missing)[:20]
    final = {(s, r["dag_run_id"]) for s in STAGES for r in chaos.runs(s, ("success",))}
    assert succeeded <= final, sorted(succeeded - final)[:10]
    for d in days:
        for zone in ("validated", "predictions", "monitor"):
            m = chaos.manifest(zone, d)
            for name in (m or {}).get("files", []):
                assert f"lake/{PIPELINE}/{zone}/date={d.isoformat()}/{name}" in set(chaos.keys(
                    f"lake/{PIPELINE}/{zone}/date={d.isoformat()}/")), (zone, d, name)  # fmt: skip
    # The restarted model server answers with the champion (it follows @champion by polling).
    deadline = time.monotonic() + 120
    while True:
        code, body, _ = http_json(
            f"{chaos.settings.serving_url}/health", None, chaos.secrets["serving_token"]
        )
        if code == 200 and body["models"].get(PIPELINE) == status["champion"]["version"]:
            break
        assert time.monotonic() < deadline, (code, body)
        time.sleep(1)
