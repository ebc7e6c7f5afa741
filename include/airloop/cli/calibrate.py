"""``airloop calibrate PIPELINE``: the champion's drift thresholds, where they came from, and
``--refresh`` to calibrate them again on its training window (airloop.core.monitor.thresholds)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from airloop.cli.common import FAILED, OK, print_error
from airloop.cli.models import model_plane
from airloop.settings import Settings


def calibration_status(settings: Settings, pipeline: str, refresh: bool) -> dict[str, Any]:
    """Per compared column: method, threshold, its source, and the null distribution."""
    from airloop.core.model import registry
    from airloop.core.monitor import thresholds

    spec, lake = model_plane(settings, pipeline)
    champion = registry.alias_version(spec.name, registry.CHAMPION)
    if champion is None:
        raise ValueError(f"{spec.name} has no champion yet: thresholds are calibrated on a "
                         "champion's training window (train one first)")  # fmt: skip
    tags = (registry.version_info(spec.name, champion) or {}).get("tags", {})
    found = (thresholds.refresh(lake, spec, champion, tags) if refresh
             else thresholds.for_version(lake, spec, champion, tags))  # fmt: skip
    record = found.to_record() if found else {}
    columns = {
        column: {"threshold": limit, "source": source,
                 "method": record.get("methods", {}).get(column),
                 "null": record.get("null_quantiles", {}).get(column)}
        for column, (limit, source) in thresholds.resolve(spec, found).items()
    }  # fmt: skip
    return {"pipeline": spec.name, "champion": champion, "refreshed": refresh,
            "target_false_alarms_per_90_days": spec.monitoring.false_alarms_per_90_days,
            "drift_share": spec.monitoring.policy.drift_share, "columns": columns,
            "calibration": {k: v for k, v in record.items()
                            if k not in ("thresholds", "methods", "null_quantiles")}}  # fmt: skip


def calibrate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        status = calibration_status(settings, args.pipeline, args.refresh)
    except ValueError as exc:
        print_error("calibrate", exc)
        return FAILED
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return OK
    cal = status["calibration"]
    done = "calibrated again" if status["refreshed"] else "thresholds"
    print(f"{status['pipeline']} champion v{status['champion']}: {done}; a day drifts when "
          f"{status['drift_share']:.0%} of the columns pass their thresholds")  # fmt: skip
    if cal:
        print(f"  calibrated on {cal['days'][0]}..{cal['days'][1]}: {cal['resamples']} draws of "
              f"{cal['block_days']}-day windows ({cal['current_rows']} vs {cal['reference_rows']}"
              f" rows), target {cal['false_alarms_per_90_days']} false alarms / 90 days, "
              f"per-column tail {cal['column_alpha']:.4f}, {cal['seconds']} s")  # fmt: skip
        for note in cal.get("notes", []):
            print(f"  note: {note}")
    for column, found in status["columns"].items():
        null = found["null"] or {}
        spread = (
            f"  calm p50 {null['p50']:g} p95 {null['p95']:g} max {null['max']:g}" if null else ""
        )
        limit = "default" if found["threshold"] is None else f"{found['threshold']:g}"
        print(
            f"  {column:<16} {found['method'] or '':<14} {limit:>10}  [{found['source']}]{spread}"
        )
    return OK


def add_commands(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="show (or --refresh) the champion's drift thresholds")
    p.add_argument("pipeline")
    p.add_argument("--refresh", action="store_true", help="calibrate again on its window")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=calibrate)
