"""The closed loop as direct ``airloop.core`` calls in one process: the work the DAG tasks do,
without Airflow (the denominator of ``p2_overhead_ratio``).

Each stage calls the same core step as its DAG task (``ingest.land`` … ``retraining``), so the
benchmark cannot drift away from what the DAGs do.

Usage: python bench/direct_loop.py START DAYS — in the environment of ``bench/project.py``,
with ``MLFLOW_TRACKING_URI`` set. Prints one JSON line: seconds per stage and in total.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airloop.core.data import ingest
from airloop.core.model import retraining, scoring
from airloop.core.monitor import steps as monitor_steps
from airloop.core.pipeline import Pipeline
from airloop.project import open_pipeline, storage_path

DAG = "direct"


def _train(pipeline: Pipeline, request: dict[str, Any], run: retraining.RunRef) -> None:
    """What the train DAG does for one request: claim, train, evaluate, promote or ledger."""
    end = date.fromisoformat(request["window"][1])
    asked = retraining.TrainRequest(end, "drift", request["reason"][:500], [request["key"]],
                                    request.get("window_days"), code_version="bench")  # fmt: skip
    at = datetime.combine(end, datetime.min.time(), UTC)  # the data's time, not now()
    retraining.serve_request(pipeline, asked, run, at)


def run_day(pipeline: Pipeline, day: date, spent: dict[str, float]) -> None:
    """One day: ingest (acquire, land, validate, publish), score, monitor, and any training."""
    run = retraining.RunRef(DAG, f"direct__{day.isoformat()}")
    started = time.perf_counter()
    landed = ingest.land(pipeline, day, storage_path)
    summary = ingest.validate_raw(pipeline.lake, pipeline.spec, day, landed)
    if summary["status"] == "quarantined":
        raise SystemExit(f"bench day {day} was quarantined: {summary['batch_failures']}")
    ingest.publish(pipeline, day, landed, summary, run.run_id)
    spent["ingest"] += time.perf_counter() - started
    started = time.perf_counter()
    scoring.score_days(pipeline, [day], run.run_id)
    spent["score"] += time.perf_counter() - started
    started = time.perf_counter()
    measured = monitor_steps.measure_days(pipeline, [day])
    outcome = monitor_steps.apply_policy(pipeline, measured, run.run_id)
    spent["monitor"] += time.perf_counter() - started
    for request in outcome.retrain_requests:
        started = time.perf_counter()
        _train(pipeline, request, run)
        spent["train"] += time.perf_counter() - started


def main(start: date, days: int) -> dict[str, Any]:
    pipeline = open_pipeline("bike_scale")
    spent: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    for i in range(days):
        run_day(pipeline, start + timedelta(days=i), spent)
    total = time.perf_counter() - started
    champion = pipeline.model.champion()
    return {"seconds": round(total, 2), "stages": {k: round(v, 2) for k, v in spent.items()},
            "champion": champion and champion.version}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main(date.fromisoformat(sys.argv[1]), int(sys.argv[2]))), flush=True)
