"""On the running platform (real scheduler, LocalExecutor workers, triggerer, MLflow server):
approval gates the flip, and concurrent train runs end with one champion and a clean ledger."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from _support import REPO, platform_env, seed_validated
from airloop.platform import embedded, processes
from airloop.platform.rest import AirflowClient
from airloop.settings import load_settings

pytestmark = pytest.mark.platform
TRAIN = "bike_demand__train"
WAITING = {"awaiting_input", "deferred"}  # HITL tasks wait in awaiting_input on Airflow 3.3


@pytest.fixture
def gated_platform(tmp_path: Path):
    """The platform, with bike_demand's spec requiring approval and 42 validated days."""
    env = platform_env(tmp_path, {"promotion": {"approval": "required"}})
    settings = load_settings(env)
    seed_validated(settings.home / "lake", "bike_demand", date(2012, 4, 1), 42)
    up = subprocess.run(
        ["make", "-C", str(REPO), "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    password = json.loads((settings.home / "secrets.json").read_text())["admin_password"]
    client = AirflowClient(settings.airflow_url, "admin", password)
    client.wait_for_dag(TRAIN)
    yield client, settings, env
    subprocess.run(
        ["make", "-C", str(REPO), "down"], env=env, capture_output=True, timeout=300, check=False
    )
    processes.stop_all(processes.read_records(settings.run_dir), embedded.marker(settings))


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


def _answer(client: AirflowClient, run_id: str, approve: bool, reason: str) -> None:
    """Answer the approval like a person: once it is waiting, not within milliseconds.

    Seen on Airflow 3.3: an answer sent the instant the task pauses can be lost (the task
    restarts with a new try and waits again), so re-answer if it is still waiting.
    """
    for _ in range(3):
        _wait(
            lambda: client.task_state(TRAIN, run_id, "approve_promotion") in WAITING,
            600,
            "the approval to wait",
        )
        time.sleep(5)
        client.answer_approval(TRAIN, run_id, approve=approve, reason=reason)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if client.task_state(TRAIN, run_id, "approve_promotion") not in WAITING:
                return
            time.sleep(2)
    raise AssertionError(f"approval of {run_id} was not taken")


def _status(env: dict[str, str]) -> dict:
    exe = str(Path(REPO / ".venv" / "bin" / "airloop"))
    done = subprocess.run(
        [exe, "status", "bike_demand", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_approval_gate_and_concurrent_training(gated_platform) -> None:
    client, _, env = gated_platform
    conf = {"end_date": "2012-05-12", "reason": "concurrency test"}
    run_a = client.trigger(TRAIN, conf=conf)["dag_run_id"]
    run_b = client.trigger(TRAIN, conf=conf)["dag_run_id"]

    # Both train and evaluate concurrently; both decide "promote" (there is no champion yet)
    # and wait for a person. Nothing flips while they wait.
    _wait(
        lambda: all(
            client.task_state(TRAIN, r, "approve_promotion") in WAITING for r in (run_a, run_b)
        ),
        600,
        "both runs to wait for approval",
    )
    status = _status(env)
    assert status["champion"] is None and status["versions"] == 2 and status["ledger"] == []

    _answer(client, run_a, approve=True, reason="looks good")
    assert client.wait_for_run(TRAIN, run_a, 300)["state"] == "success"
    champion = _status(env)["champion"]["version"]

    # B was evaluated against "no champion"; promotion re-checks and refuses to flip.
    _answer(client, run_b, approve=True, reason="also fine")
    assert client.wait_for_run(TRAIN, run_b, 300)["state"] == "success"
    assert client.task_state(TRAIN, run_b, "promote_champion") == "skipped"
    status = _status(env)
    assert status["champion"]["version"] == champion and status["versions"] == 2
    actions = [(e["action"], e["from_version"], e["to_version"]) for e in status["ledger"]]
    other = 3 - champion
    assert actions == [("promote", None, champion), ("inconclusive", champion, other)]
    assert "champion changed" in status["ledger"][1]["reason"]

    # A rejection by the approver is recorded with its reason; the champion stays.
    run_c = client.trigger(TRAIN, conf={**conf, "force": True})["dag_run_id"]
    _answer(client, run_c, approve=False, reason="not during the sales week")
    assert client.wait_for_run(TRAIN, run_c, 300)["state"] == "success"
    status = _status(env)
    assert status["champion"]["version"] == champion
    last = status["ledger"][-1]
    assert last["action"] == "reject"
    assert last["reason"] == "rejected by approver: not during the sales week"
