"""Ingest steps as transactions over the lake: land raw → validate → publish or quarantine.

Every step reads its inputs from the lake and writes its outputs atomically, so each can be
retried or re-run for the same date: the raw batch is content-addressed (never lost or
duplicated), the validated partition is replaced as a whole, quarantine records accumulate.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from airloop.core.data import readers, sources
from airloop.core.data.lake import Lake
from airloop.spec import FileSource, PipelineSpec

if TYPE_CHECKING:
    from airloop.core.pipeline import Pipeline

REASONS = "_airloop_reasons"


def _delimiter(spec: PipelineSpec) -> str:
    return spec.source.delimiter if isinstance(spec.source, FileSource) else ","


def read_raw(lake: Lake, spec: PipelineSpec, day: date, raw_name: str) -> readers.ReadResult:
    data = lake.raw_path(day, raw_name).read_bytes()
    return readers.read_table(data, raw_name, _delimiter(spec))


def validate_raw(
    lake: Lake, spec: PipelineSpec, day: date, landed: dict[str, Any]
) -> dict[str, Any]:
    """Validate the landed raw batch; store the full record in the lake; return its summary."""
    from airloop.core.data import validation

    read = read_raw(lake, spec, day, landed["name"])
    if read.frame is None:
        outcome = validation.unreadable(spec.suite_name, read.problem or "unknown")
    else:
        outcome = validation.validate_frame(
            read.frame, spec.suite_name, day.isoformat(), spec.validation.max_failing_fraction
        )
    summary = outcome.summary()
    status = (
        "quarantined" if outcome.batch_failed else "partial" if outcome.row_reasons else "valid"
    )
    summary.update(status=status, date=day.isoformat(), raw=landed)
    record = {**summary, "row_reasons": {str(k): v for k, v in outcome.row_reasons.items()}}
    summary["record_uri"] = lake.write_json(
        "validation", day, f"{landed['digest'][:16]}.json", record
    )
    return summary


def _load_record(lake: Lake, day: date, landed: dict[str, Any]) -> dict[str, Any]:
    path = lake.partition("validation", day) / f"{landed['digest'][:16]}.json"
    return lake.read_json(path)


def publish_validated(
    lake: Lake, spec: PipelineSpec, day: date, landed: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """Publish the rows that passed as the day's validated partition; return its manifest."""
    record = _load_record(lake, day, landed)
    if record["status"] == "quarantined":
        raise ValueError(f"{day}: batch was quarantined; nothing to publish")
    frame = read_raw(lake, spec, day, landed["name"]).frame
    assert frame is not None  # a readable batch was validated
    failing = {int(k) for k in record["row_reasons"]}
    clean = frame.reset_index(drop=True).drop(index=sorted(failing))
    meta = {
        "pipeline": spec.name,
        "raw": landed,
        "run_id": run_id,
        "quarantined_rows": len(failing),
        "validation": _short(record),
    }
    return lake.publish(
        "validated", day, clean.reset_index(drop=True), meta, owner=run_id, replace=True
    )


def quarantine(
    lake: Lake, spec: PipelineSpec, day: date, landed: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """Keep failing rows (or the whole batch) with a reason per row; never deletes anything."""
    record = _load_record(lake, day, landed)
    read = read_raw(lake, spec, day, landed["name"])
    whole = record["status"] == "quarantined"
    if read.frame is None:
        rows = pd.DataFrame({REASONS: ["; ".join(record["batch_failures"])]})
    else:
        frame = read.frame.reset_index(drop=True)
        if whole:
            rows = frame.assign(**{REASONS: "; ".join(record["batch_failures"])})
        else:
            picked = sorted(int(k) for k in record["row_reasons"])
            rows = frame.iloc[picked].assign(
                **{REASONS: ["; ".join(record["row_reasons"][str(i)]) for i in picked]}
            )
        # Failing rows may hold anything (text in numeric columns…): keep them as text.
        rows = rows.astype("string")
    meta = {
        "pipeline": spec.name,
        "status": "quarantined",
        "scope": "batch" if whole else "rows",
        "raw": landed,
        "run_id": run_id,
        "reasons": record["batch_failures"],
        "validation": _short(record),
    }
    sub = f"raw={landed['digest'][:16]}"
    previous = lake.manifest("quarantine", day, sub)
    if previous and previous.get("run_id") != run_id:  # a replay: keep what was recorded before
        meta["history"] = [*previous.pop("history", []), previous]
    return lake.publish("quarantine", day, rows, meta, sub=sub, owner=run_id)


def latest_quarantined_raw(lake: Lake, day: date) -> dict[str, Any]:
    """The raw batch of ``day``'s newest open quarantine record, for a replay."""
    open_entries = [m for _, m in lake.quarantine_entries(day) if m["status"] == "quarantined"]
    if not open_entries:
        raise LookupError(f"no quarantined batch for {day} to replay")
    return open_entries[-1]["raw"]


def mark_replayed(lake: Lake, day: date, landed: dict[str, Any], run_id: str, status: str) -> None:
    """Record on the quarantine entry that a replay re-validated it (the entry is kept)."""
    sub = f"raw={landed['digest'][:16]}"
    manifest = lake.manifest("quarantine", day, sub)
    if manifest and manifest["status"] == "quarantined":
        manifest.update(status="replayed", replay={"run_id": run_id, "outcome": status})
        lake.write_manifest("quarantine", day, manifest, sub)


def _short(record: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "suite",
        "status",
        "rows",
        "failing_rows",
        "checks_total",
        "batch_failures",
        "data_docs",
    )
    out = {k: record.get(k) for k in keys}
    out["failed_checks"] = [c["description"] for c in record.get("failed_checks", [])]
    return out


def land(
    pipeline: Pipeline, day: date, open_path: sources.OpenPath,
    read_sql: sources.SqlReader | None = None, *, file: str | None = None,
    source: str | None = None, replay: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The ingest DAG's first step: acquire the day's batch and keep it byte for byte in the raw
    zone (an override ``file``, another ``source`` kind, or the spec's source); with ``replay``,
    take the day's quarantined raw batch again instead."""
    if replay:
        return {**latest_quarantined_raw(pipeline.lake, day), "date": day.isoformat(),
                "replay": True}  # fmt: skip
    batch = sources.acquire(pipeline.spec, day, open_path, read_sql, file, source)
    landed = pipeline.lake.land_raw(day, batch.data, batch.suffix)
    return {**landed, "date": day.isoformat(), "origin": batch.origin, "replay": False}


def publish(
    pipeline: Pipeline, day: date, landed: dict[str, Any], summary: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """Commit the day's validated partition; a replay also marks its quarantine entry."""
    manifest = publish_validated(pipeline.lake, pipeline.spec, day, landed, run_id)
    if landed.get("replay"):
        mark_replayed(pipeline.lake, day, landed, run_id, summary["status"])
    return manifest
