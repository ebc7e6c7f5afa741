"""What a model-plane task reads from its Airflow context: window end, trigger, request, time."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from airloop.core.model.retraining import RunRef, TrainRequest


def request_events(context: dict[str, Any]) -> list[dict[str, Any]]:
    """Extras of the retrain-request Asset events that triggered this run (oldest first)."""
    found = []
    for asset, events in (context.get("triggering_asset_events") or {}).items():
        if "retrain_request" in str(getattr(asset, "uri", asset)):
            found += [dict(e.extra) for e in events if getattr(e, "extra", None)]
    return sorted(found, key=lambda e: str(e.get("date")))


def request_keys(context: dict[str, Any]) -> list[str]:
    """Dedupe keys this run serves: from the triggering requests, or the ``request_key`` param."""
    keys = [e["key"] for e in request_events(context) if e.get("key")]
    param = context["params"].get("request_key")
    return keys or ([str(param)] if param else [])


def end_date(context: dict[str, Any]) -> date:
    """The window's last day: the param, the latest request's date, or the run's date."""
    chosen = context["params"].get("end_date")
    if chosen:
        return date.fromisoformat(str(chosen))
    dates = [e["date"] for e in request_events(context) if e.get("date")]
    if dates:
        return date.fromisoformat(max(dates))
    start = context.get("data_interval_start") or context.get("logical_date")
    if start is None:
        raise AirflowFailException("no end date: set the 'end_date' param (YYYY-MM-DD)")
    return start.date()


def window_days(context: dict[str, Any]) -> int | None:
    chosen = context["params"].get("window_days")
    if chosen:
        return int(chosen)
    sizes = [int(e["window_days"]) for e in request_events(context) if e.get("window_days")]
    return sizes[-1] if sizes else None


def reason(context: dict[str, Any]) -> str:
    given = str(context["params"].get("reason") or "")
    return (given or "; ".join(str(e.get("reason", "")) for e in request_events(context)))[:500]


def trigger(context: dict[str, Any]) -> str:
    """``drift`` for monitoring's requests, else ``manual`` or ``schedule`` (for the ledger)."""
    asked = context["params"].get("trigger", "auto")
    if asked != "auto":
        return asked
    if request_events(context):
        return "drift"
    run_type = getattr(context.get("dag_run"), "run_type", "manual")
    return "manual" if "manual" in str(getattr(run_type, "value", run_type)).lower() else "schedule"


def code_version() -> str:
    """``AIRLOOP_CODE_VERSION`` (set by images/CI), else the package version + git commit."""
    import os

    from airloop import __version__
    from airloop.settings import load_settings

    if os.environ.get("AIRLOOP_CODE_VERSION"):
        return os.environ["AIRLOOP_CODE_VERSION"]
    git = load_settings().project_root / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        sha = (git / head[5:]).read_text().strip() if head.startswith("ref: ") else head
    except OSError:  # not a checkout (e.g. an installed image) or a packed ref
        return __version__
    return f"{__version__}+{sha[:12]}"


def decided_at(context: dict[str, Any]) -> datetime:
    """The audit time of a decision: when this task try started (not wall-clock in logic)."""
    return context["ti"].start_date or context["dag_run"].run_after


def run_ref(context: dict[str, Any]) -> RunRef:
    """This DAG run, as the core steps name the run doing the work."""
    from airloop.core.model.retraining import RunRef

    return RunRef(context["dag"].dag_id, context["run_id"])


def train_request(context: dict[str, Any]) -> TrainRequest:
    """What this train run serves: window end and size, trigger, reason, requests, overrides."""
    from airloop.core.model.retraining import TrainRequest

    return TrainRequest(
        end=end_date(context),
        trigger=trigger(context),
        reason=reason(context),
        request_keys=request_keys(context),
        window_days=window_days(context),
        estimator_params=context["params"].get("estimator_params") or None,
        code_version=code_version(),
    )
