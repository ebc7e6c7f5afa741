"""The REST model server (a real uvicorn process on loopback, a real MLflow store): payloads
checked against the signature, the serving version in every answer, and a promotion and a
rollback picked up with no failed request across the flip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest

from _support import free_port, http_json, seed_validated
from airloop.core.model import challenger, promotion, registry
from airloop.core.simulators.simulator import simulate_day
from airloop.spec import load_pipeline

TOKEN = "test-token-not-a-secret"
END = date(2012, 5, 21)


def _call(url: str, body: object = None, token: str | None = TOKEN) -> tuple[int, dict, Any]:
    return http_json(url, body, token)


def _train(lake, spec, run: str) -> int:
    tags = {"dag_id": "test", "airflow_run_id": run, "trigger": "manual"}
    small = {"max_iter": 40}  # any fitted model serves; a small one trains in a second
    return challenger.train(lake, spec, END, tags, overrides=small)["version"]


@pytest.fixture
def served(isolated_state, isolated_mlflow):
    lake = seed_validated(isolated_state / "state" / "lake", "bike_demand", date(2012, 5, 1), 21)
    spec = load_pipeline("bike_demand")
    first = _train(lake, spec, "a")
    promotion.promote(lake, "bike_demand", first, None, decision={}, trigger="initial",
                      reason="first", at=datetime.now(UTC), key="k1")  # fmt: skip
    port = free_port()
    env = {**os.environ, "AIRLOOP_SERVING_TOKEN": TOKEN}
    server = subprocess.Popen(
        [sys.executable, "-m", "airloop.serving", "--port", str(port), "--refresh", "0.5"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if _call(f"{url}/health")[1]["models"]["bike_demand"] == first:
                break
        except (OSError, KeyError):
            pass
        assert server.poll() is None, server.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the model server did not come up"
        time.sleep(0.5)
    yield url, lake, spec, first
    server.terminate()
    server.wait(timeout=30)


def _rows(n: int = 3) -> list[dict]:
    spec = load_pipeline("bike_demand")
    frame = simulate_day(date(2012, 6, 2), seed=5)[spec.features].head(n)
    return json.loads(frame.to_json(orient="records"))


def test_answers_with_the_serving_version_and_rejects_bad_payloads(served) -> None:
    url, _, _, first = served
    predict = f"{url}/v1/models/bike_demand/predict"
    status, body, headers = _call(predict, {"rows": _rows()})
    assert status == 200 and body["model_version"] == first and len(body["predictions"]) == 3
    assert headers["X-Airloop-Model-Version"] == str(first) and body["model_run_id"]
    row = _rows(1)[0]
    cases = [
        (
            {"rows": [{k: v for k, v in row.items() if k != "temp"}]},
            422,
            "missing columns ['temp']",
        ),
        ({"rows": [{**row, "temp": "warm"}]}, 422, "rows[0].temp: expected a finite number"),
        ({"rows": [{**row, "hr": 3.5}]}, 422, "rows[0].hr: expected an integer"),
        ({"rows": [{**row, "colour": 1}]}, 422, "unknown columns ['colour']"),
        ({"rows": []}, 422, "non-empty list"),
        ([1, 2], 422, "JSON object"),
        (b"{not json", 400, "not valid JSON"),
    ]
    for payload, code, message in cases:
        status, body, _ = _call(predict, payload)
        assert (status, message in body.get("error", "")) == (code, True), (payload, body)
    assert _call(f"{url}/v1/models/nope/predict", {"rows": [row]})[0] == 404
    assert _call(predict, {"rows": [row]}, token=None)[0] == 401
    assert _call(predict, {"rows": [row]}, token="wrong")[0] == 401


def test_a_promotion_and_a_rollback_flip_without_failed_requests(served) -> None:
    url, lake, spec, first = served
    second = _train(lake, spec, "b")
    predict = f"{url}/v1/models/bike_demand/predict"
    seen: list[list[int]] = [[] for _ in range(3)]
    failures: list[object] = []
    stop = threading.Event()

    def hammer(i: int) -> None:
        while not stop.is_set():
            status, body, _ = _call(predict, {"rows": _rows(2)})
            if status != 200:
                failures.append((status, body))
            else:
                seen[i].append(body["model_version"])

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(1)
    promotion.promote(lake, "bike_demand", second, first, decision={}, trigger="manual",
                      reason="test", at=datetime.now(UTC), key="k2")  # fmt: skip
    deadline = time.monotonic() + 60
    while not all(s and s[-1] == second for s in seen):
        assert time.monotonic() < deadline, "the promotion was not picked up"
        time.sleep(0.2)
    promotion.rollback(lake, "bike_demand", "test rollback", datetime.now(UTC), "k3")
    while not all(s[-1] == first for s in seen):
        assert time.monotonic() < deadline, "the rollback was not picked up"
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    for versions in seen:  # each client saw v1, then v2, then v1 again: never a mix-up
        changes = [v for i, v in enumerate(versions) if i == 0 or v != versions[i - 1]]
        assert changes == [first, second, first], changes
    assert registry.alias_version("bike_demand", "champion") == first
