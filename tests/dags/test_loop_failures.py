"""`airloop run` goes on after a failed DAG run, and says at the end what failed and why.

Real DAG runs (dag.test), GX, MLflow and the lake; the loop is the one `airloop run` drives and
its output is `airloop run`'s (``_run_and_print``). Six simulated bike days: the first training
cannot have enough rows, one day's batch is quarantined, and the policy's second first-model
request trains and promotes.
"""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from airloop.core.model import ledger

START, END = date(2012, 5, 1), date(2012, 5, 6)
BROKEN = "2012-05-03"  # its batch lacks a column: the suite quarantines it whole
HAND_SET = {"false_alarms_per_90_days": None,
            "stattests": {"num_method": "wasserstein", "num_threshold": 0.5,
                          "cat_method": "jensenshannon", "cat_threshold": 0.1}}  # fmt: skip


def bike_day(day: date, broken: str) -> pd.DataFrame:
    """The simulator's day (the shipped spec's seed), without ``windspeed`` on ``broken``."""
    from airloop.core.simulators.simulator import simulate_day

    frame = simulate_day(day, seed=42, missing_hour_rate=0.01)
    return frame.drop(columns="windspeed") if day.isoformat() == broken else frame


def test_failed_runs_are_listed_at_the_end_and_later_days_still_run(loop_env, capsys) -> None:
    from airloop.cli.loop import _run_and_print

    lake, write_spec, make_loop, _ = loop_env
    # A first model asked for after 2 validated days trains on 1 day (the other is its
    # holdout): ~24 rows, short of 50. Asked again after 4 (key initial|2), it has ~71.
    write_spec({
        "source": {"kind": "python", "callable": "test_loop_failures:bike_day",
                   "params": {"broken": BROKEN}},
        "training": {"min_rows": 50},
        "promotion": {"floor": 1000.0},  # the point is that it trains, not how well
        "monitoring": {**HAND_SET, "policy": {"initial_min_days": 2}},
    })  # fmt: skip
    assert _run_and_print("run", make_loop(), START, END) == 1
    out, err = capsys.readouterr()

    # Every day ran: the table holds all six, the failed training and the quarantined day.
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.startswith("  2012")}
    assert sorted(lines) == [f"2012-05-0{i}" for i in range(1, 7)], out
    table = out.split("\ndate ", 1)[1].split("\nFailures", 1)[0].strip().splitlines()[1:]
    assert len(table) == 6 and "→ failed" in table[1] and "quarantined" in table[2], out
    # The days after both failures: the first request's key is spent, the second trains.
    assert "already requested" in lines["2012-05-04"]
    assert "trained: promote v1" in out.split("  2012-05-05", 1)[1].split("  2012-05-06")[0]
    assert "champion v1" in lines["2012-05-06"]
    (entry,) = ledger.entries(lake)
    assert entry["request_keys"] == ["initial|2"]

    # Then the failures, one block each, and exit 1.
    failures = out.split("\nFailures (2 DAG runs; the days after each still ran):\n", 1)[1]
    train, ingest = failures.split("\n  2012-05-03", 1)
    assert train.startswith("  2012-05-02  bike_demand__train  run ") and "  failed" in train
    assert "failed tasks: train_challenger failed" in train
    assert "error: task train_challenger of bike_demand__train failed" in train
    assert "need at least 50 to train" in train
    assert ingest.startswith("  bike_demand__ingest  run ")
    assert "quarantine_batch failed" in ingest and "quarantined" in ingest.split("error:")[1]
    assert "airloop run: 2 DAG runs failed (see Failures)" in err

    # Each failed task told people through its failure notification (the lake's outbox).
    sent = [json.loads(p.read_text()) for p in (lake.base / "notifications").glob("failure-*")]
    assert {r["source"] for r in sent} == {
        "bike_demand__train.train_challenger",
        "bike_demand__ingest.quarantine_batch",
    }
