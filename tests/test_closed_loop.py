"""The closed loop through real DAG runs (dag.test): ingest → score → monitor → train.

Real GX, real Evidently, real MLflow (SQLite store), the real lake; the loop driver is the one
`airloop run` and `airloop demo` use.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml

from _support import REPO, seed_validated
from airloop.core import ledger, monitoring, registry
from airloop.core.lake import Lake
from airloop.core.simulator import DriftScenario

SPEC = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and key != "source"  # a source is replaced whole
        out[key] = _merge(base.get(key, {}), value) if nested else value
    return out


@pytest.fixture
def loop_env(airflow_db, isolated_state, isolated_mlflow, monkeypatch):
    """A private lake, MLflow store and pipelines dir; a loop whose DAGs run with dag.test()."""
    from airflow.dag_processing.dagbag import DagBag

    from airloop.loop import Loop
    from airloop.platform.runner import result_of
    from airloop.settings import load_settings

    pipelines = isolated_state / "pipelines"
    pipelines.mkdir()
    monkeypatch.setenv("AIRLOOP_PIPELINES_DIR", str(pipelines))
    runs: list[str] = []

    def write_spec(changes: dict) -> None:
        (pipelines / "bike_demand.yaml").write_text(yaml.safe_dump(_merge(SPEC, changes)))

    def run_dag(dag_id: str, conf: dict, xcom: tuple[str, ...]):
        dag = DagBag(dag_folder=str(REPO / "dags")).get_dag(dag_id)
        runs.append(dag_id)
        return result_of(dag.test(run_conf=conf), xcom)

    def make_loop() -> Loop:
        return Loop(load_settings(), "bike_demand", dag_runner=run_dag)

    lake = Lake(isolated_state / "state" / "lake", "bike_demand")
    return lake, write_spec, make_loop, runs


def _drifted_days(records: dict[date, dict], day: date, threshold: float, n: int) -> int:
    last = [records.get(day - timedelta(days=i)) for i in range(n)]
    return sum(
        1
        for r in last
        if r and (r.get("drift") or {}).get("drift_share") is not None
        and r["drift"]["drift_share"] >= threshold
    )  # fmt: skip


def test_the_demo_story(loop_env) -> None:
    """The shipped spec over the demo's days: a first champion, drift confirmed only after the
    persistence window, one retrain per window, a new champion, no retrain in the cooldown."""
    from airloop.cli_loop import DEMO_END, DEMO_START

    lake, write_spec, make_loop, runs = loop_env
    write_spec({})
    days = make_loop().run(DEMO_START, DEMO_END)
    by_date = {date.fromisoformat(d.date): d for d in days}
    records = {d: monitoring.day_record(lake, d) for d in by_date}
    policy = SPEC["monitoring"]["policy"]
    first = DEMO_START + timedelta(days=policy["initial_min_days"] - 1)

    # A first champion once initial_min_days are validated; none before.
    assert all(o.champion is None for d, o in by_date.items() if d < first)
    assert by_date[first].champion == 1
    assert "first model" in ledger.entries(lake)[0]["reason"]

    # Every drift request came after k of the last n days drifted, and only in the new regime.
    requests = monitoring.requests(lake)
    drift_requests = [r for r in requests if r["kind"] == "drift"]
    assert drift_requests, [d.decision for d in days]
    for r in drift_requests:
        day = date.fromisoformat(r["day"])
        assert day >= date(2012, 6, 1) + timedelta(days=policy["persistence_k"] - 1)
        drifted = _drifted_days(records, day, policy["drift_share"], policy["persistence_n"])
        assert drifted >= policy["persistence_k"]

    # Exactly one request per window and one training run per request.
    keys = [r["key"] for r in requests]
    assert len(keys) == len(set(keys)) and len(keys) <= policy["max_retrains"]
    assert runs.count("bike_demand__train") == len(requests)
    served = [k for e in ledger.entries(lake) for k in e.get("request_keys") or []]
    assert sorted(served) == sorted(keys)

    # The loop promoted a new champion for the new regime ...
    promotions = [e for e in ledger.entries(lake) if e["action"] == "promote"]
    assert [p["trigger"] for p in promotions] == ["initial", "drift"]
    new = registry.alias_version("bike_demand", "champion")
    assert new not in (None, 1) and registry.alias_version("bike_demand", "previous_champion") == 1
    # ... and asked nothing during the cooldown that followed.
    promoted_on = date.fromisoformat(promotions[1]["data_date"])
    assert not [r for r in requests if date.fromisoformat(r["day"]) > promoted_on]

    # Scoring carried the serving version on every row; reports exist per day and in an index.
    last = lake.read("predictions", DEMO_END)
    assert set(last["model_version"]) == {new} and last["model_run_id"].nunique() == 1
    assert (lake.partition("monitor", DEMO_END) / "drift.html").exists()
    index = (lake.base / "monitor" / "index.html").read_text()
    assert DEMO_END.isoformat() in index and "<svg" in index
    assert records[DEMO_END]["drift"]["current_rows"] <= SPEC["monitoring"]["sample_rows"]

    # Confirmed drift and both promotions were notified, with links to the evidence.
    import json

    sent = [json.loads(p.read_bytes()) for p in (lake.base / "notifications").iterdir()]
    assert [n["event"] for n in sent].count("promotion") == 2
    (drift_note,) = [n for n in sent if n["event"] == "drift"]
    assert drift_note["links"]["Evidently report"].endswith("drift.html")

    # `airloop status bike_demand --json` shows it all afterwards.
    from airloop.cli_models import pipeline_status
    from airloop.settings import load_settings

    status = pipeline_status(load_settings(), "bike_demand")
    assert status["champion"]["version"] == new and len(status["ledger"]) == len(requests)
    assert status["last_drift"]["date"] == DEMO_END.isoformat()
    assert status["last_drift"]["decision"]["action"] == "none"


def _champion_on_normal_days(lake_root, write_spec, make_loop, runs, policy: dict):
    """14 normal days + a champion trained on them, then 5 drifted days already validated."""
    scenario = DriftScenario(start=date(2012, 6, 1), **{
        k: v for k, v in SPEC["source"]["drift"].items() if k != "start"})  # fmt: skip
    seed_validated(lake_root, "bike_demand", date(2012, 5, 18), 20, seed=42, drift=scenario)
    # Sensitive settings so the seeded drift confirms within days whatever the reference; the
    # champion's data ends on 05-31, so no cooldown.
    policy = {"cooldown_days": 0, "drift_share": 0.6, "persistence_k": 2, "persistence_n": 3,
              "retry_days": 30, **policy}  # fmt: skip
    write_spec({"training": {"min_rows": 100}, "monitoring": {"policy": policy}})
    loop = make_loop()
    assert loop._run("train", {"end_date": "2012-05-31"}).state == "success"
    assert registry.alias_version("bike_demand", "champion") == 1
    return loop


def _monitor(loop, day: date):
    assert loop._run("score", {"date": day.isoformat()}).state == "success"
    result = loop._run("monitor", {"date": day.isoformat()})
    assert result.state == "success", result.tasks
    return result


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
    assert all(r.tasks["request_retrain"] == "skipped" for r in results)  # no Asset event
    (request,) = monitoring.requests(lake)
    assert request["action"] == "observe" and monitoring.claim_of(lake, request["key"]) is None
    assert registry.count_versions("bike_demand") == 1  # nothing trained

    # Acting now: the observed request already spent the budget of one.
    act = {"mode": "act", "max_retrains": 1, "retry_days": 1, "cooldown_days": 0,
           "drift_share": 0.6, "persistence_k": 2, "persistence_n": 3}  # fmt: skip
    write_spec({"training": {"min_rows": 100}, "monitoring": {"policy": act}})
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
    conf = {"request_key": drift["key"], "end_date": drift["window"][1], "trigger": "drift"}
    first = loop._run("train", conf)
    second = loop._run("train", conf)
    assert first.tasks["train_challenger"] == "success"
    assert second.tasks["claim_request"] == "success"
    assert second.tasks["train_challenger"] == "skipped" and second.state == "success"
    assert monitoring.claim_of(lake, drift["key"])["run_id"] == first.run_id
    assert registry.count_versions("bike_demand") == 2


def test_real_uci_data_drifts_with_the_seasons_and_the_loop_retrains(loop_env) -> None:
    """hour.csv (UCI Bike Sharing, Fanaee-T & Gama 2013, CC BY 4.0) replayed by the file source."""
    from _support import HOUR_CSV

    if not HOUR_CSV.exists():
        pytest.skip(f"{HOUR_CSV} is not available")
    lake, write_spec, make_loop, runs = loop_env
    write_spec({
        "source": {"kind": "file", "path": str(HOUR_CSV), "time_column": "dteday"},
        "training": {"min_rows": 100, "window_days": 150},  # January is in the retrain window
        # The shipped thresholds are tuned on the simulator; real weather needs 3 of 5 columns.
        "monitoring": {"policy": {"initial_min_days": 14, "drift_share": 0.6}},
    })  # fmt: skip
    loop = make_loop()
    winter = loop.run(date(2011, 1, 1), date(2011, 1, 14))
    assert winter[-1].champion == 1  # trained on the first two weeks of January 2011
    spring = loop.run(date(2011, 5, 2), date(2011, 5, 6))
    shares = [d.drift_share for d in spring]
    assert all(s is not None and s >= 0.6 for s in shares), shares
    assert [d.decision.split(":")[0] for d in spring][:2] == ["none", "none"]  # persistence
    (request,) = [r for r in monitoring.requests(lake) if r["kind"] == "drift"]
    assert request["day"] == "2011-05-04"
    served = [e for e in ledger.entries(lake) if request["key"] in (e.get("request_keys") or [])]
    assert len(served) == 1 and served[0]["trigger"] == "drift"
    assert runs.count("bike_demand__train") == 2
