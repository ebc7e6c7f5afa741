"""The closed loop as direct ``airloop.core`` calls in one process: the work the DAG tasks do,
without Airflow (the denominator of ``p2_overhead_ratio``).

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

from airloop.core import (
    challenger,
    ingest,
    ledger,
    monitoring,
    promotion,
    registry,
    scoring,
    sources,
)
from airloop.core.lake import Lake
from airloop.settings import load_settings
from airloop.spec import load_pipeline

DAG = "direct"


def _train(lake: Lake, spec: Any, request: dict[str, Any], run: str) -> str:
    """What the train DAG does for one request: claim, train, evaluate, promote or ledger."""
    if monitoring.claim(lake, request["key"], DAG, run)["run_id"] != run:
        return "claimed elsewhere"
    end = date.fromisoformat(request["window"][1])
    tags = {"dag_id": DAG, "airflow_run_id": run, "code_version": "bench", "trigger": "drift",
            "reason": request["reason"][:400], "request_keys": request["key"]}  # fmt: skip
    trained = challenger.train(lake, spec, end, tags, request.get("window_days"))
    evaluation = challenger.evaluate(spec, trained)
    trigger = "initial" if evaluation["champion_version"] is None else "drift"
    at = datetime.combine(end, datetime.min.time(), UTC)  # the data's time, not now()
    key = ledger.entry_key(DAG, run)
    if evaluation["outcome"] == "promote":
        promotion.promote(lake, spec.name, evaluation["challenger_version"],
                          evaluation["champion_version"], evaluation, trigger,
                          evaluation["reason"], at, key, end.isoformat(),
                          [request["key"]])  # fmt: skip
    else:
        ledger.record(lake, key, at, evaluation["outcome"], evaluation["champion_version"],
                      evaluation["challenger_version"], trigger, evaluation["reason"],
                      evaluation, data_date=end.isoformat(),
                      request_keys=[request["key"]])  # fmt: skip
    return evaluation["outcome"]


def run_day(lake: Lake, spec: Any, day: date, spent: dict[str, float]) -> None:
    """One day: ingest (acquire, land, validate, publish), score, monitor, and any training."""
    from airloop.airflow.runtime import read_sql, storage_path

    run = f"direct__{day.isoformat()}"
    started = time.perf_counter()
    batch = sources.acquire(spec, day, storage_path, read_sql, None, None)
    landed = lake.land_raw(day, batch.data, batch.suffix)
    summary = ingest.validate_raw(lake, spec, day, landed)
    if summary["status"] == "quarantined":
        raise SystemExit(f"bench day {day} was quarantined: {summary['batch_failures']}")
    ingest.publish_validated(lake, spec, day, landed, run)
    spent["ingest"] += time.perf_counter() - started
    started = time.perf_counter()
    champion = registry.alias_version(spec.name, registry.CHAMPION)
    if champion is not None:
        model_run = (registry.version_info(spec.name, champion) or {})["run_id"]
        model = registry.load_model(spec.name, champion)
        scoring.score_day(lake, spec, day, champion, model_run, lambda: model, run)
    spent["score"] += time.perf_counter() - started
    started = time.perf_counter()
    if champion is None:
        measured = {"date": day.isoformat(), "champion": None, "drift": None}
    else:
        reference = registry.load_artifact_frame(model_run, "reference.parquet")
        measured = monitoring.measure_day(spec, lake, day, champion, model_run, reference)
    _, decision, created = monitoring.decide_day(lake, spec, measured, run)
    monitoring.write_index(lake, spec)
    spent["monitor"] += time.perf_counter() - started
    if created and decision.action == "retrain":
        started = time.perf_counter()
        _train(lake, spec, created, run)
        spent["train"] += time.perf_counter() - started


def main(start: date, days: int) -> dict[str, Any]:
    spec = load_pipeline("bike_scale")
    lake = Lake(load_settings().home / "lake", spec.name)
    spent: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    for i in range(days):
        run_day(lake, spec, start + timedelta(days=i), spent)
    total = time.perf_counter() - started
    return {"seconds": round(total, 2), "stages": {k: round(v, 2) for k, v in spent.items()},
            "champion": registry.alias_version(spec.name, registry.CHAMPION)}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main(date.fromisoformat(sys.argv[1]), int(sys.argv[2]))), flush=True)
