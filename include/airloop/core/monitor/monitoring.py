"""Monitoring state in the lake: current windows, late labels, daily records, retrain requests.

Layout under ``<lake>/<pipeline>/``:
- ``monitor/date=D/`` — the Evidently HTML/JSON of day D, committed by ``_manifest.json``
  (the summary and the policy decision); ``monitor/index.html`` lists every day.
- ``retrain/requests/<key>.json`` — one per dedupe key, created exclusively;
  ``retrain/claims/<key>.json`` — the one training run that serves it, created exclusively.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pandas as pd

from airloop.core.data.lake import Lake
from airloop.core.data.storage import atomic_write_bytes, create_exclusive
from airloop.core.failpoints import failpoint
from airloop.core.model import classes, ledger, training
from airloop.core.monitor import drift_policy, thresholds
from airloop.spec import PipelineSpec

ZONE = "monitor"


def _window_days(lake: Lake, zone: str, day: date, days: int) -> list[date]:
    start = day - timedelta(days=days - 1)
    return [d for d in lake.dates(zone) if start <= d <= day]


def current_window(lake: Lake, spec: PipelineSpec, day: date) -> tuple[pd.DataFrame, list[date]]:
    """Validated rows of the monitoring window ending ``day``, with their predictions if scored.

    ``prediction`` is NaN for rows no model scored yet. Multi-class: ``prediction`` is the
    label, with the ``proba_<label>`` columns.
    """
    days = _window_days(lake, "validated", day, spec.monitoring.window_days)
    frames = [lake.read("validated", d) for d in days]
    if not frames:
        return pd.DataFrame(), []
    current = pd.concat(frames, ignore_index=True)
    # As the reference sample holds it: binary classes as 0/1, multi-class labels as they are.
    if spec.target in current and not spec.multiclass:
        current[spec.target] = training.target_values(spec, current[spec.target])
    scored = [lake.read("predictions", d) for d in days if lake.manifest("predictions", d)]
    columns = ["prediction", *classes.proba_columns(spec)]
    if scored:
        preds = pd.concat(scored, ignore_index=True)[[*spec.key, *columns]]
        current = current.merge(preds.drop_duplicates(spec.key), on=spec.key, how="left")
    else:
        current = current.assign(**dict.fromkeys(columns, float("nan")))
    return current, days


def labelled_rows(lake: Lake, spec: PipelineSpec, day: date) -> pd.DataFrame:
    """Predictions whose actual labels are known by ``day``, joined to them by key.

    Labels may land after the features: predictions of the last ``label_delay_days`` days are
    not judged yet, and rows whose label is still missing are left out.
    """
    delay = spec.monitoring.label_delay_days
    last = day - timedelta(days=delay)
    days = _window_days(lake, "predictions", last, spec.monitoring.window_days)
    preds = [lake.read("predictions", d) for d in days]
    if not preds:
        return pd.DataFrame(columns=[*spec.key, spec.target, "prediction"])
    predictions = pd.concat(preds, ignore_index=True)
    label_days = [d for d in lake.dates("validated") if days[0] <= d <= day]
    labels = pd.concat([lake.read("validated", d) for d in label_days], ignore_index=True)
    labels = labels[[*spec.key, spec.target]].dropna(subset=[spec.target])
    if not spec.multiclass:  # multi-class labels stay labels, as the reference holds them
        labels[spec.target] = training.target_values(spec, labels[spec.target])
    return predictions.merge(labels.drop_duplicates(spec.key), on=spec.key, how="inner")


# -- daily records and the policy's inputs ----------------------------------------------------
def save_report_files(lake: Lake, day: date, artifacts: dict[str, bytes]) -> dict[str, str]:
    """Write the day's report files (visible once the day is committed); name → URI."""
    folder = lake.partition(ZONE, day)
    written = {}
    for name, content in artifacts.items():
        atomic_write_bytes(folder / name, content)
        written[name] = str(folder / name)
    return written


def commit_day(lake: Lake, day: date, record: dict[str, Any]) -> None:
    lake.write_manifest(ZONE, day, record)


def decide_day(
    lake: Lake, spec: PipelineSpec, measured: dict[str, Any], dag_run: str
) -> tuple[dict[str, Any], Any, dict[str, Any] | None]:
    """Apply the drift policy to one measured day, create its request, commit the day.

    Returns the committed record, the decision, and the request this run created (``None``
    when there is none, or another run created the same request first). A retry of the run
    that created a request gets it again, so it is announced even if the first try died.
    """
    from dataclasses import replace

    policy = spec.monitoring.policy
    day = date.fromisoformat(measured["date"])
    today = observation(day, measured)
    observed = [o for o in history(lake) if o.day != day] + [today]
    # A retry of this run must decide as its first try did: the request that try created is not
    # a "prior" one, or the retry would stand down and the request would never be announced.
    mine = {r["key"] for r in requests(lake) if r["dag_run"] == dag_run and r["day"] == str(day)}
    prior = [r for r in prior_requests(lake) if r.key not in mine]
    decision = drift_policy.decide(
        policy, day, observed, measured["champion"], len(lake.dates("validated")),
        prior, last_promotion(lake), spec.training.window_days,
    )  # fmt: skip
    created = None
    if decision.action != "none":
        size = policy.retrain_window_days or spec.training.window_days
        request = {**decision.record(), "day": measured["date"], "dag_run": dag_run,
                   "window_days": size}  # fmt: skip
        if create_request(lake, request) or decision.key in mine:
            created = request
            failpoint("policy.after_request")
        else:
            taken = decision.reason + "; already requested by another run"
            decision = replace(decision, action="none", reason=taken)
    record = {**measured, "decision": decision.record()}
    commit_day(lake, day, record)
    return record, decision, created


def day_record(lake: Lake, day: date) -> dict[str, Any] | None:
    return lake.manifest(ZONE, day)


def history(lake: Lake) -> list[drift_policy.Observation]:
    return [observation(d, lake.manifest(ZONE, d) or {}) for d in lake.dates(ZONE)]


def observation(day: date, record: dict[str, Any]) -> drift_policy.Observation:
    """The policy's view of one measured day's record."""
    drift = record.get("drift") or {}
    degraded = (drift.get("quality_check") or {}).get("degraded")
    return drift_policy.Observation(day, drift.get("drift_share"), record.get("champion"), degraded)


def last_promotion(lake: Lake) -> date | None:
    """The data date of the latest promotion in the ledger (cooldown counts in data days)."""
    days = [
        date.fromisoformat(e["data_date"])
        for e in ledger.entries(lake)
        if e["action"] == "promote" and e.get("data_date")
    ]
    return max(days) if days else None


# -- retrain requests and claims ---------------------------------------------------------------
def _file(lake: Lake, kind: str, key: str) -> Any:
    return lake.base / "retrain" / kind / f"{ledger.entry_key(key)}.json"


def request_path(lake: Lake, key: str) -> Any:
    return _file(lake, "requests", key)


def request_event(request: dict[str, Any]) -> dict[str, Any]:
    """The extra of the ``retrain_request`` Asset event that announces ``request``."""
    keys = ("key", "window_days", "reason", "kind")
    return {**{k: request[k] for k in keys}, "date": request["window"][1]}


def requests(lake: Lake) -> list[dict[str, Any]]:
    folder = lake.base / "retrain" / "requests"
    if not folder.exists():
        return []
    found = [json.loads(p.read_bytes()) for p in folder.iterdir() if p.name.endswith(".json")]
    return sorted(found, key=lambda r: (r["day"], r["key"]))


def prior_requests(lake: Lake) -> list[drift_policy.PriorRequest]:
    return [
        drift_policy.PriorRequest(r["key"], date.fromisoformat(r["day"])) for r in requests(lake)
    ]


def create_request(lake: Lake, request: dict[str, Any]) -> bool:
    """Record a retrain request; False when its dedupe key was requested before."""
    payload = json.dumps(request, indent=2, default=str).encode()
    return create_exclusive(_file(lake, "requests", request["key"]), payload)


def request(lake: Lake, key: str) -> dict[str, Any] | None:
    path = request_path(lake, key)
    return json.loads(path.read_bytes()) if path.exists() else None


def claim(lake: Lake, key: str, dag_id: str, run_id: str) -> dict[str, Any]:
    """Claim request ``key`` for one training run; returns the claim that holds it."""
    mine = {"key": key, "dag_id": dag_id, "run_id": run_id}
    path = _file(lake, "claims", key)
    if create_exclusive(path, json.dumps(mine).encode()):
        return mine
    return json.loads(path.read_bytes())


def claim_of(lake: Lake, key: str) -> dict[str, Any] | None:
    path = _file(lake, "claims", key)
    return json.loads(path.read_bytes()) if path.exists() else None


def _quality_check(
    spec: PipelineSpec, labelled: pd.DataFrame, champion_metrics: dict[str, float]
) -> dict[str, Any]:
    """The champion's live metric on the labelled rows against its holdout (quality_check)."""
    from airloop.core.monitor import quality_check

    metric = spec.promotion.metric if spec.promotion else QUALITY_METRIC[spec.task]
    policy = spec.monitoring.policy
    if spec.multiclass:
        metric, y, predicted = classes.mean_of_rows(spec, labelled, metric)
    else:
        y, predicted = labelled[spec.target].to_numpy(float), labelled["prediction"].to_numpy(float)
    return quality_check.check(
        metric, y, predicted,
        champion_metrics.get(f"holdout_{metric}"), tolerance=policy.quality_tolerance,
        confidence=policy.quality_confidence, min_rows=policy.quality_min_rows,
        seed=spec.training.random_state,
    ).to_record()  # fmt: skip


QUALITY_METRIC = {"regression": "rmse", "classification": "log_loss"}
SUMMARY_KEYS = (
    "drift_share", "drifted_columns", "columns", "dataset_drift", "prediction_drift",
    "target_drift", "quality", "reference_quality", "labelled_rows", "reference_rows",
    "current_rows", "current_rows_total", "sample_rows", "columns_compared", "columns_dropped",
    "compute_seconds", "evidently_version",
)  # fmt: skip


def measure_day(
    spec: PipelineSpec, lake: Lake, day: date, champion: int, run_id: str, reference: Any
) -> dict[str, Any]:
    """Drift (and, with labels, quality) of ``day``'s window against the champion's reference;
    the reports go to the lake and to an MLflow monitoring run."""
    from airloop.core.model import registry
    from airloop.core.monitor import drift

    current, days = current_window(lake, spec, day)
    if current.empty:
        note = f"no validated data in the {spec.monitoring.window_days} days to {day}"
        return {"date": day.isoformat(), "champion": champion, "drift": None, "note": note}
    preds = current["prediction"]  # NaN where no model scored the row yet
    columns = spec.monitoring.columns or spec.features
    calibrated = thresholds.for_version(
        lake, spec, champion, (registry.version_info(spec.name, champion) or {}).get("tags", {})
    )
    labelled = labelled_rows(lake, spec, day)
    found = drift.compute(
        reference, current, features=columns, target=spec.target, task=spec.task,
        categorical=[c for c in spec.training.categorical_features if c in columns],
        current_predictions=preds if preds.notna().any() else None,
        labelled=labelled,
        sample_rows=spec.monitoring.sample_rows, max_columns=spec.monitoring.max_columns,
        seed=spec.training.random_state, drift_share_threshold=spec.monitoring.policy.drift_share,
        stattests=spec.monitoring.stattests, thresholds=thresholds.resolve(spec, calibrated),
        calendar=spec.monitoring.calendar, classes=spec.classes,
    )  # fmt: skip
    reports = save_report_files(lake, day, found.artifacts)
    summary = {k: found.summary.get(k) for k in SUMMARY_KEYS}
    summary["quality_check"] = _quality_check(spec, labelled, registry.run_metrics(run_id))
    metrics = {"drift_share": summary["drift_share"], "compute_seconds": summary["compute_seconds"]}
    for name, value in (summary.get("quality") or {}).items():
        metrics[f"quality_{name}"] = value
    tracked = registry.log_monitoring_run(
        spec.name, day.isoformat(), metrics, found.artifacts,
        {"champion_version": str(champion), "champion_run_id": run_id},
    )  # fmt: skip
    return {
        "date": day.isoformat(), "champion": champion, "drift": summary, "reports": reports,
        "window": [d.isoformat() for d in days], "mlflow": tracked,
    }  # fmt: skip
