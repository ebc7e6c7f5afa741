"""The shipped classification example, end to end through real DAG runs (dag.test()): a first
champion on ROC AUC, the competitor launch seen as drift, a retrain decided by the paired
bootstrap on ROC AUC, then the weekly champion-vs-history report DAG over the served versions."""

from __future__ import annotations

import json
from datetime import date

from _support import REPO
from airloop.core.model import ledger, registry
from airloop.core.monitor import monitoring

LAUNCH = date(2024, 1, 11)  # earlier than the shipped 2024-01-22, to keep the test short


def test_churn_loop_and_history_report(pipeline_loop) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from airloop.platform.runner import result_of

    lake, write_spec, make_loop, runs = pipeline_loop("subscription_churn")
    write_spec({
        "source": {"kind": "python",
                   "callable": "airloop.core.simulators.churn_simulator:simulate_day",
                   "params": {"seed": 7, "customers": 400, "drift_start": LAUNCH.isoformat()}},
        "monitoring": {"policy": {"initial_min_days": 8, "retry_days": 3}},
        "promotion": {"floor": 0.6},
    })  # fmt: skip
    days = make_loop().run(date(2024, 1, 1), date(2024, 1, 17))
    by_day = {d.date: d for d in days}
    assert all(d.validation == "valid" for d in days), [d.validation for d in days]
    assert by_day["2024-01-08"].champion == 1 and by_day["2024-01-07"].champion is None

    entries = ledger.entries(lake)
    assert entries[0]["trigger"] == "initial" and "roc_auc" in entries[0]["reason"]
    first = registry.version_info("subscription_churn", 1)
    holdout = registry.run_metrics(first["run_id"])
    assert {"holdout_roc_auc", "holdout_f1", "holdout_log_loss", "holdout_recall_positive",
            "holdout_recall_negative", "holdout_positive_rate"} <= set(holdout)  # fmt: skip

    # The launch is seen: drift before any request, requests only after the launch.
    assert runs.count("subscription_churn__train") == len(monitoring.requests(lake))
    requests = [r for r in monitoring.requests(lake) if r["kind"] == "drift"]
    assert requests and all(date.fromisoformat(r["day"]) >= LAUNCH for r in requests)
    record = monitoring.day_record(lake, date(2024, 1, 13))["drift"]
    assert record["drift_share"] >= 0.5 and record["target_drift"] is not None
    assert record["quality"]["roc_auc"] is not None  # labels joined to predictions

    # Every drift retrain was decided by the paired bootstrap on ROC AUC against the champion.
    drift_decisions = [
        json.loads(
            registry.version_info("subscription_churn", v)["tags"]["airloop.decision_record"]
        )
        for v in range(2, registry.count_versions("subscription_churn") + 1)
    ]
    assert drift_decisions and all(d["metric"] == "roc_auc" for d in drift_decisions)
    compared = [d for d in drift_decisions if d["champion_metric"] is not None]
    assert all(d["ci_low"] is not None and d["ci_high"] is not None for d in compared)
    champion = registry.alias_version("subscription_churn", "champion")
    assert by_day["2024-01-17"].champion == champion

    # The custom weekly DAG: every served version on the last week, ranked by ROC AUC.
    dag = DagBag(dag_folder=str(REPO / "dags" / "champion_history_report.py")).get_dag(
        "reports__champion_history"
    )
    run = result_of(dag.test(run_conf={"date": "2024-01-17", "days": 4}), ())
    assert run.state == "success", run.tasks
    report = lake.manifest("history", date(2024, 1, 17))
    served = sorted({e["to_version"] for e in entries if e["action"] == "promote"})
    assert sorted(v["version"] for v in report["versions"]) == served
    assert report["metric"] == "roc_auc" and report["rows"] > 1000
    assert report["champion"] == champion and report["champion_rank"] >= 1
    assert (lake.partition("history", date(2024, 1, 17)) / "history.html").exists()
