"""The closed loop through real DAG runs (dag.test): ingest → score → monitor → train.

Real GX, real Evidently, real MLflow (SQLite store), the real lake; the loop driver is the one
`airloop run` and `airloop demo` use (the ``loop_env`` fixture is in conftest.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import yaml

from _support import REPO
from airloop.core.model import ledger, registry
from airloop.core.monitor import monitoring

SPEC = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())


# The demo's story on a shorter timeline: the shipped spec with a 12-day first window (the demo
# waits 21) from 2012-05-18 — a first champion before the 2012-06-01 regime change, the drift,
# the retrain and the cooldown after it, at 60 % of the demo's DAG runs.
STORY_START = date(2012, 5, 18)
INITIAL_DAYS = 12


def test_the_demo_story(loop_env) -> None:
    """The shipped spec over the demo's regime change: a first champion, drift confirmed only
    after the persistence window, one retrain per window, a new champion, no retrain in the
    cooldown."""
    from airloop.cli.loop import DEMO_END

    lake, write_spec, make_loop, runs = loop_env
    write_spec({"monitoring": {"policy": {"initial_min_days": INITIAL_DAYS}}})
    days = make_loop().run(STORY_START, DEMO_END)
    by_date = {date.fromisoformat(d.date): d for d in days}
    records = {d: monitoring.day_record(lake, d) for d in by_date}
    policy = {**SPEC["monitoring"]["policy"], "initial_min_days": INITIAL_DAYS}
    first = STORY_START + timedelta(days=policy["initial_min_days"] - 1)

    # A first champion once initial_min_days are validated; none before.
    assert all(o.champion is None for d, o in by_date.items() if d < first)
    assert by_date[first].champion == 1
    assert "first model" in ledger.entries(lake)[0]["reason"]

    # Every drift request came after k of the last n days drifted (by data drift or degraded
    # quality: trigger "either"), and only in the new regime.
    requests = monitoring.requests(lake)
    drift_requests = [r for r in requests if r["kind"] == "drift"]
    assert drift_requests, [d.decision for d in days]
    for r in drift_requests:
        day = date.fromisoformat(r["day"])
        assert day >= date(2012, 6, 1) + timedelta(days=policy["persistence_k"] - 1)
        assert r["drifted_days"] >= policy["persistence_k"]
        counted = [monitoring.observation(d, records[d]) for d in records
                   if day - timedelta(days=policy["persistence_n"]) < d <= day]  # fmt: skip
        assert sum(o.quality_degraded is True or (o.drift_share or 0) >= policy["drift_share"]
                   for o in counted) >= policy["persistence_k"]  # fmt: skip

    # Each champion monitors with thresholds calibrated on its own window, and says so.
    for version in {o.champion for o in by_date.values() if o.champion}:
        assert (lake.base / "calibration" / f"v{version}.json").exists()
    columns = records[DEMO_END]["drift"]["columns"]
    assert all("calibrated on" in c["threshold_source"] for c in columns.values()), columns
    assert records[DEMO_END]["drift"]["quality_check"]["degraded"] is not None

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
    from airloop.cli.models import pipeline_status
    from airloop.settings import load_settings

    status = pipeline_status(load_settings(), "bike_demand")
    assert status["champion"]["version"] == new and len(status["ledger"]) == len(requests)
    assert status["last_drift"]["date"] == DEMO_END.isoformat()
    assert status["last_drift"]["decision"]["action"] == "none"

    # `airloop calibrate bike_demand` shows the champion's thresholds and refreshes them.
    from airloop.cli.calibrate import calibration_status

    shown = calibration_status(load_settings(), "bike_demand", refresh=False)
    refreshed = calibration_status(load_settings(), "bike_demand", refresh=True)
    assert shown["champion"] == new and shown["columns"] == refreshed["columns"]
    assert shown["columns"]["temp"]["threshold"] == columns["temp"]["threshold"]
