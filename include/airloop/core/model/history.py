"""The champion against every model it replaced, on the same recent validated days.

A promotion was right on the holdout of its day; this asks the standing question afterwards:
on last week's data, is the champion still the best model this pipeline ever served? Reports go
to ``<lake>/<pipeline>/history/date=D/`` (HTML + JSON), committed by the day's manifest.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pandas as pd

from airloop.core.data.lake import Lake
from airloop.core.data.storage import atomic_write_bytes
from airloop.core.model import ledger, metrics, training
from airloop.spec import PipelineSpec

ZONE = "history"
METRICS = {"regression": ("rmse", "mae", "r2"),
           "classification": ("roc_auc", "f1", "log_loss", "accuracy")}  # fmt: skip


def served_versions(lake: Lake) -> list[int]:
    """Every version the ledger ever made champion, in order of first promotion."""
    seen: list[int] = []
    for e in ledger.entries(lake):
        version = e.get("to_version")
        if e["action"] in ("promote", "rollback") and version and int(version) not in seen:
            seen.append(int(version))
    return seen


def recent_rows(lake: Lake, end: date, days: int) -> tuple[pd.DataFrame, list[date]]:
    """Validated rows of the days in ``(end - days, end]``."""
    chosen = [d for d in lake.dates("validated") if end - timedelta(days=days) < d <= end]
    frames = [lake.read("validated", d) for d in chosen]
    frames = [f for f in frames if f is not None and len(f)]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), chosen


def evaluate(
    lake: Lake,
    spec: PipelineSpec,
    end: date,
    days: int,
    champion: int | None,
    load_model: Callable[[int], Any],
) -> dict[str, Any]:
    """Score every served version on the same recent rows; rank them by the promotion metric."""
    names = metrics.MULTICLASS if spec.multiclass else METRICS[spec.task]
    primary = spec.promotion.metric if spec.promotion else names[0]
    frame, chosen = recent_rows(lake, end, days)
    record: dict[str, Any] = {
        "pipeline": spec.name, "date": end.isoformat(), "days": days,
        "window": [d.isoformat() for d in chosen], "rows": len(frame), "metric": primary,
        "champion": champion, "versions": [], "best": None, "champion_rank": None,
    }  # fmt: skip
    labelled = frame.dropna(subset=[spec.target]) if len(frame) else frame
    if not len(labelled):
        record["note"] = f"no labelled validated rows in the {days} days to {end}"
        return record
    y = training.target_values(spec, labelled[spec.target])
    for version in served_versions(lake):
        pred = training.predict(load_model(version), spec, labelled)
        scores = {m: metrics.score(m, y, pred) for m in names}
        record["versions"].append({"version": version, "champion": version == champion,
                                   "metrics": scores})  # fmt: skip
    lower = primary in metrics.LOWER_IS_BETTER
    ranked = sorted(record["versions"], key=lambda v: v["metrics"][primary], reverse=not lower)
    for rank, v in enumerate(ranked, 1):
        v["rank"] = rank
    record["best"] = ranked[0]["version"] if ranked else None
    record["champion_rank"] = next((v["rank"] for v in ranked if v["champion"]), None)
    return record


def _page(record: dict[str, Any]) -> str:
    def cell(x: float) -> str:
        return f"{x:.4g}" if isinstance(x, float) and math.isfinite(x) else "-"

    names = list((record["versions"] or [{}])[0].get("metrics", {}))  # as they were scored
    rows = "".join(
        f"<tr{' style=font-weight:bold' if v['champion'] else ''}><td>{v['rank']}</td>"
        f"<td>v{v['version']}{' (champion)' if v['champion'] else ''}</td>"
        + "".join(f"<td>{cell(v['metrics'][m])}</td>" for m in names) + "</tr>"
        for v in sorted(record["versions"], key=lambda v: v["rank"])
    )  # fmt: skip
    head = "".join(f"<th>{m}</th>" for m in names)
    title = f"{record['pipeline']}: champion vs history, {record['date']}"
    note = html.escape(record.get("note") or "")
    return (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{record['rows']} validated rows of "
            f"{len(record['window'])} days, ranked by {record['metric']}. {note}</p>"
            f"<table border='1' cellpadding='4'><tr><th>rank</th><th>version</th>{head}</tr>"
            f"{rows}</table></body></html>")  # fmt: skip


def publish(lake: Lake, record: dict[str, Any]) -> dict[str, str]:
    """Write the report files, then commit the day with its manifest (reruns replace it)."""
    day = date.fromisoformat(record["date"])
    folder = lake.partition(ZONE, day)
    files = {"history.json": json.dumps(record, indent=2, default=str).encode(),
             "history.html": _page(record).encode()}  # fmt: skip
    for name, content in files.items():
        atomic_write_bytes(folder / name, content)
    uris = {name: str(folder / name) for name in files}
    lake.write_manifest(ZONE, day, {**record, "reports": uris})
    return uris
