"""Model-plane commands: ``rollback`` and ``status PIPELINE``."""

from __future__ import annotations

import argparse
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from airloop.cli.common import FAILED, OK, load_spec_or_usage_error, print_error
from airloop.settings import Settings


def model_plane(settings: Settings, pipeline: str) -> tuple[Any, Any]:
    """The pipeline's spec and lake, with MLflow pointed at the platform's store."""
    from airloop.platform.runner import local_tracking_uri
    from airloop.project import open_pipeline

    load_spec_or_usage_error(pipeline)  # an unknown or invalid spec is a usage error
    os.environ.setdefault("MLFLOW_TRACKING_URI", local_tracking_uri(settings))
    os.environ.setdefault("AIRLOOP_MLFLOW_ARTIFACTS", (settings.mlflow_dir / "artifacts").as_uri())
    opened = open_pipeline(pipeline)
    return opened.spec, opened.lake


def rollback(args: argparse.Namespace, settings: Settings) -> int:
    """Champion ← previous champion (or ``--to``), recorded in the ledger."""
    from airloop.core.model import ledger, promotion

    spec, lake = model_plane(settings, args.pipeline)
    key = ledger.entry_key("cli-rollback", uuid.uuid4().hex)
    try:
        result = promotion.rollback(lake, spec.name, args.reason, datetime.now(UTC), key, args.to)
    except promotion.PromotionError as exc:
        print_error("rollback", exc)
        return FAILED
    print(
        f"{spec.name}: champion is now v{result['champion']} (was v{result['previous']}); "
        "recorded in the ledger"
    )
    return OK


def pipeline_status(settings: Settings, pipeline: str) -> dict[str, Any]:
    """Champion, versions, ledger and last drift of one pipeline."""
    from airloop.core.model import ledger, registry

    spec, lake = model_plane(settings, pipeline)
    champion = registry.alias_version(spec.name, registry.CHAMPION)
    champ = None
    if champion is not None:
        info = registry.version_info(spec.name, champion) or {}
        champ = {
            "version": champion,
            "metrics": registry.run_metrics(info["run_id"]) if info.get("run_id") else {},
            "promoted_at": info.get("tags", {}).get("airloop.promoted_at"),
        }
    fields = ("at", "action", "from_version", "to_version", "trigger", "reason")
    return {
        "pipeline": spec.name,
        "champion": champ,
        "challenger": registry.alias_version(spec.name, registry.CHALLENGER),
        "previous_champion": registry.alias_version(spec.name, registry.PREVIOUS),
        "versions": registry.count_versions(spec.name),
        "ledger": [{k: e.get(k) for k in fields} for e in ledger.entries(lake)],
        "validated_partitions": len(lake.dates("validated")),
        "last_drift": _last_drift(lake),
    }


def _last_drift(lake: Any) -> dict[str, Any] | None:
    """The latest monitored day: drift share, drifted columns, the policy's decision, report."""
    from airloop.core.monitor import monitoring

    days = lake.dates(monitoring.ZONE)
    if not days:
        return None
    record = monitoring.day_record(lake, days[-1]) or {}
    drift = record.get("drift") or {}
    return {
        "date": days[-1].isoformat(),
        "champion": record.get("champion"),
        "drift_share": drift.get("drift_share"),
        "drifted_columns": drift.get("drifted_columns"),
        "prediction_drift": drift.get("prediction_drift"),
        "quality": drift.get("quality"),
        "decision": record.get("decision"),
        "report": (record.get("reports") or {}).get("drift.html"),
        "index": str(lake.base / monitoring.ZONE / "index.html"),
    }


def print_pipeline_status(args: argparse.Namespace, settings: Settings) -> int:
    """``status PIPELINE``: the pipeline's status as JSON or a summary."""
    status = pipeline_status(settings, args.pipeline)
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return OK
    champ = status["champion"]
    print(
        f"{status['pipeline']}: {status['versions']} versions, "
        f"{status['validated_partitions']} validated partitions"
    )
    shown = f"v{champ['version']} {champ['metrics']}" if champ else "none"
    print(f"  champion: {shown}")
    print(f"  challenger: {status['challenger']}  previous champion: {status['previous_champion']}")
    for e in status["ledger"][-10:]:
        print(
            f"  {e['at'][:19]}  {e['action']:<12} {e['from_version']} → {e['to_version']}  "
            f"[{e['trigger']}] {e['reason']}"
        )
    return OK


def add_commands(sub: Any) -> None:
    """Add ``rollback`` to ``sub`` (``status PIPELINE`` is added with the platform's)."""
    p = sub.add_parser("rollback", help="make the previous champion (or --to VERSION) champion")
    p.add_argument("pipeline")
    p.add_argument("--to", type=int, metavar="VERSION", help="version to restore")
    p.add_argument("--reason", required=True, help="why (recorded in the ledger)")
    p.set_defaults(func=rollback)
