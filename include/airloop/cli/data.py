"""Data-plane commands: ``validate``, ``ingest``, ``replay``, ``suggest-suite``.

Exit codes (:mod:`airloop.cli.common`): 0 success, 1 the data failed (or the run failed), 2 usage
error / unknown pipeline.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from airloop.cli.common import FAILED, OK, UsageError, load_spec_or_usage_error, parse_date
from airloop.settings import Settings


def _print_checks(failed: list[dict[str, Any]]) -> None:
    """One entry per failed check: its description, column, rows and what was seen."""
    for check in failed:
        count = check.get("unexpected_count")
        rows = f"{count} rows" if count is not None else "batch"
        print(f"  FAILED {check['description']}")
        seen = (
            f"observed: {check['observed']}"
            if check.get("observed") is not None
            else (f"sample: {check.get('sample')}")
        )
        print(f"         column: {check.get('column') or '-'}; {rows}; {seen}")


def validate(args: argparse.Namespace, _settings: Settings) -> int:
    """Validate a file against the pipeline's raw suite."""
    from airloop.core.data import readers, validation

    spec = load_spec_or_usage_error(args.pipeline)
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    delimiter = getattr(spec.source, "delimiter", ",")
    read = readers.read_table(path.read_bytes(), path.name, delimiter)
    row_id = getattr(spec.source, "row_id", None)
    if read.frame is not None and row_id and row_id not in read.frame:
        read.frame[row_id] = range(len(read.frame))  # as the spec's source adds it
    if read.frame is None:
        outcome = validation.unreadable(spec.suite_name, read.problem or "unknown")
    else:
        outcome = validation.validate_frame(
            read.frame, spec.suite_name, f"cli-{path.stem}", spec.validation.max_failing_fraction
        )
    summary = outcome.summary()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return OK if outcome.success else FAILED
    verdict = "PASSED" if outcome.success else "FAILED"
    print(
        f"{path}: {verdict} {spec.suite_name} — {outcome.rows} rows, "
        f"{outcome.failing_rows} failing rows, {len(summary['failed_checks'])} failed checks"
    )
    for reason in outcome.batch_failures:
        print(f"  batch rejected: {reason}")
    _print_checks(summary["failed_checks"])
    if outcome.data_docs:
        print(f"  Data Docs: {outcome.data_docs}")
    return OK if outcome.success else FAILED


def _report_ingest(result: Any, day: date) -> int:
    """Print an ingest run's outcome; exit 0 when the day was validated (fully or partly)."""
    summary = result.xcom.get("validate_batch")
    landed = result.xcom.get("land_raw") or {}
    print(f"{result.dag_id} {day}: run {result.run_id} {result.state} ({result.mode})")
    if landed:
        print(f"  raw kept at {landed.get('uri')}")
    if summary is None:
        failed = {t: s for t, s in result.tasks.items() if s not in ("success", "skipped")}
        print(f"  no validation outcome; task states: {failed or result.tasks}")
        if result.log:
            print(f"  log: {result.log}")
        return FAILED
    status = summary["status"]
    words = {
        "valid": "validated",
        "partial": "validated with rows quarantined",
        "quarantined": "quarantined",
    }
    print(f"  {words[status]}: {summary['rows']} rows, {summary['failing_rows']} failing rows")
    for reason in summary["batch_failures"]:
        print(f"  reason: {reason}")
    _print_checks(summary["failed_checks"])
    if summary.get("data_docs"):
        print(f"  Data Docs: {summary['data_docs']}")
    return OK if result.state == "success" and status != "quarantined" else FAILED


def _ingest_run(settings: Settings, pipeline: str, conf: dict[str, Any]) -> int:
    """Run the pipeline's ingest DAG with ``conf`` and report it."""
    from airloop.platform.runner import run_dag

    spec = load_spec_or_usage_error(pipeline)
    result = run_dag(settings, spec.dag_id("ingest"), conf, ("land_raw", "validate_batch"))
    return _report_ingest(result, date.fromisoformat(conf["date"]))


def ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Run the ingest DAG for one date as a real DAG run."""
    conf: dict[str, Any] = {"date": args.date.isoformat()}
    if args.file:
        path = Path(args.file)
        if "://" not in args.file and not path.is_file():
            raise UsageError(f"no such file: {path}")
        conf["file"] = args.file if "://" in args.file else str(path.resolve())
    return _ingest_run(settings, args.pipeline, conf)


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """Re-validate a date's quarantined raw batch (after a suite fix) through the ingest DAG."""
    return _ingest_run(settings, args.pipeline, {"date": args.date.isoformat(), "replay": True})


def suggest_suite(args: argparse.Namespace, _settings: Settings) -> int:
    """Infer a starter suite from reference data for a human to curate."""
    from airloop.core.authoring import suggest
    from airloop.core.data import readers, validation

    spec = load_spec_or_usage_error(args.pipeline)
    path = Path(getattr(args, "from"))
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    read = readers.read_table(path.read_bytes(), path.name, getattr(spec.source, "delimiter", ","))
    if read.frame is None:
        raise UsageError(f"{path}: {read.problem}")
    expectations = suggest.suggest_expectations(read.frame, source=path.name)
    written = validation.save_suite(
        spec.suite_name,
        expectations,
        replace=args.replace,
        notes=f"Suggested from {path.name}; curate before use.",
    )
    print(f"{len(expectations)} expectations suggested from {path} ({len(read.frame)} rows)")
    for exp in expectations:
        print(f"  [{exp['meta']['airloop_level']:>5}] {exp['type']} {suggest.brief(exp)}")
    print(f"Written to {written}")
    return OK


def add_commands(sub: Any) -> None:
    """Add ``validate``, ``ingest``, ``replay`` and ``suggest-suite`` to ``sub``."""
    p = sub.add_parser("validate", help="validate a file against a pipeline's raw suite")
    p.add_argument("pipeline")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=validate)
    p = sub.add_parser("ingest", help="run the ingest DAG for a date (a real DAG run)")
    p.add_argument("pipeline")
    p.add_argument("--date", type=parse_date, required=True, help="YYYY-MM-DD")
    p.add_argument("--file", help="ingest this file (path or s3:// URI) as the day's batch")
    p.set_defaults(func=ingest)
    p = sub.add_parser("replay", help="re-validate a quarantined date after a suite fix")
    p.add_argument("pipeline")
    p.add_argument("--date", type=parse_date, required=True, help="YYYY-MM-DD")
    p.set_defaults(func=replay)
    p = sub.add_parser("suggest-suite", help="infer a starter GX suite from reference data")
    p.add_argument("pipeline")
    p.add_argument("--from", required=True, metavar="FILE", help="CSV or Parquet reference data")
    p.add_argument(
        "--replace",
        action="store_true",
        help="overwrite the pipeline's suite (default: write a draft beside it)",
    )
    p.set_defaults(func=suggest_suite)
