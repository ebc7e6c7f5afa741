"""The drift policy through real monitor and train DAG runs: observe mode, budget, claims.

Real GX, real Evidently, real MLflow (SQLite store), the real lake; the loop driver is the one
`airloop run` and `airloop demo` use (the ``loop_env`` fixture is in conftest.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import yaml

from _support import REPO, seed_validated
from airloop.core.model import registry
from airloop.core.monitor import monitoring
from airloop.core.simulators.simulator import DriftScenario

SPEC = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())
HAND_SET = {"false_alarms_per_90_days": None,
            "stattests": {"num_method": "wasserstein", "num_threshold": 0.5,
                          "cat_method": "jensenshannon", "cat_threshold": 0.1}}  # fmt: skip


def _champion_on_normal_days(lake_root, write_spec, make_loop, runs, policy: dict):
    """14 normal days + a champion trained on them, then 5 drifted days already validated."""
    scenario = DriftScenario(start=date(2012, 6, 1), **{
        k: v for k, v in SPEC["source"]["drift"].items() if k != "start"})  # fmt: skip
    seed_validated(lake_root, "bike_demand", date(2012, 5, 18), 20, seed=42, drift=scenario)
    # Sensitive, hand-set settings so the seeded drift confirms within days whatever the
    # reference (these tests are about the policy's plumbing, not its thresholds); the
    # champion's data ends on 05-31, so no cooldown.
    policy = {"cooldown_days": 0, "drift_share": 0.6, "persistence_k": 2, "persistence_n": 3,
              "retry_days": 30, "trigger": "drift", **policy}  # fmt: skip
    write_spec({"training": {"min_rows": 100}, "monitoring": {**HAND_SET, "policy": policy}})
    loop = make_loop()
    assert loop._run("train", {"end_date": "2012-05-31"}).state == "success"
    assert registry.alias_version("bike_demand", "champion") == 1
    return loop


def _monitor(loop, day: date):
    assert loop._run("score", {"date": day.isoformat()}).state == "success"
    result = loop._run("monitor", {"date": day.isoformat()})
    assert result.state == "success", result.tasks
    return result


def _retrain_request_events() -> int:
    """Retrain-request Asset events in the metadata database (what starts the train DAG)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        query = (select(func.count()).select_from(AssetEvent)
                 .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                 .where(AssetModel.uri == "x-airloop://bike_demand/retrain_request"))  # fmt: skip
        return session.scalar(query)


def test_observe_mode_records_but_triggers_nothing_and_the_budget_caps(loop_env) -> None:
    lake, write_spec, make_loop, runs = loop_env
    loop = _champion_on_normal_days(
        lake.root, write_spec, make_loop, runs, {"mode": "observe", "max_retrains": 1}
    )
    results = [_monitor(loop, date(2012, 6, 1) + timedelta(i)) for i in range(5)]
    decisions = [monitoring.day_record(lake, date(2012, 6, 1) + timedelta(i))["decision"]
                 for i in range(5)]  # fmt: skip
    assert "observe" in [d["action"] for d in decisions]
    assert all(d["action"] != "retrain" for d in decisions)
    assert all(r.tasks["apply_policy"] == "success" for r in results)
    assert _retrain_request_events() == 0  # nothing announced: the train DAG is not started
    (request,) = monitoring.requests(lake)
    assert request["action"] == "observe" and monitoring.claim_of(lake, request["key"]) is None
    assert registry.count_versions("bike_demand") == 1  # nothing trained

    # Acting now: the observed request already spent the budget of one.
    act = {"mode": "act", "max_retrains": 1, "retry_days": 1, "cooldown_days": 0,
           "drift_share": 0.6, "persistence_k": 2, "persistence_n": 3}  # fmt: skip
    write_spec({"training": {"min_rows": 100}, "monitoring": {**HAND_SET, "policy": act}})
    _monitor(make_loop(), date(2012, 6, 6))
    decision = monitoring.day_record(lake, date(2012, 6, 6))["decision"]
    assert decision["action"] == "none" and "budget spent" in decision["reason"]
    assert runs.count("bike_demand__train") == 1


def test_a_request_is_served_once_even_when_triggered_twice(loop_env) -> None:
    lake, write_spec, make_loop, runs = loop_env
    loop = _champion_on_normal_days(lake.root, write_spec, make_loop, runs, {"retry_days": 30})
    for i in range(5):
        _monitor(loop, date(2012, 6, 1) + timedelta(i))
    (drift,) = [r for r in monitoring.requests(lake) if r["kind"] == "drift"]
    assert _retrain_request_events() == 1  # announced once, through the policy task's alias
    conf = {"request_key": drift["key"], "end_date": drift["window"][1], "trigger": "drift"}
    first = loop._run("train", conf)
    second = loop._run("train", conf)
    assert first.tasks["train_challenger"] == "success"
    assert second.tasks["claim_request"] == "success"
    assert second.tasks["train_challenger"] == "skipped" and second.state == "success"
    assert monitoring.claim_of(lake, drift["key"])["run_id"] == first.run_id
    assert registry.count_versions("bike_demand") == 2
