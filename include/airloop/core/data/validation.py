"""Great Expectations: the one module that uses it (``airloop.patches.gx_vectorised_metrics``
vectorises two of its metrics; :func:`_define_calendar_expectation` adds an expectation of GX's
kind). Suites live in the committed file data context ``great_expectations/``; validation results
and Data Docs go to its ``uncommitted/`` folder (outside git). Each expectation carries
``meta.airloop_level``: ``batch`` failures (schema, row count, duplicate keys) reject the whole
batch; ``row`` failures quarantine just the failing rows, each with its reasons.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from airloop.core.data.vectorised_checks import CalendarPart

DATASOURCE = "airloop_pandas"
BATCH_DEFINITION = "whole_batch"
SAMPLE_SIZE = 5

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no network calls from validation


@dataclass
class CheckResult:
    """One expectation's outcome, phrased for a person."""

    expectation: str
    column: str | None
    level: str  # "row" | "batch"
    success: bool
    description: str
    unexpected_count: int | None = None
    sample: list[Any] = field(default_factory=list)
    observed: Any = None


@dataclass
class ValidationOutcome:
    suite: str
    rows: int
    checks: list[CheckResult]
    batch_failures: list[str]
    row_reasons: dict[int, list[str]]  # row position → reasons
    data_docs: str | None = None

    @property
    def failing_rows(self) -> int:
        return len(self.row_reasons)

    @property
    def batch_failed(self) -> bool:
        return bool(self.batch_failures)

    @property
    def success(self) -> bool:
        return not self.batch_failures and not self.row_reasons

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary without per-row detail (for XCom, Asset extras, logs)."""
        failed = [asdict(c) for c in self.checks if not c.success]
        return {
            "suite": self.suite,
            "rows": self.rows,
            "failing_rows": self.failing_rows,
            "batch_failures": self.batch_failures,
            "failed_checks": failed,
            "checks_total": len(self.checks),
            "success": self.success,
            "data_docs": self.data_docs,
        }


def unreadable(suite: str, problem: str) -> ValidationOutcome:
    """The outcome for bytes that are not a table at all."""
    check = CheckResult("readable_table", None, "batch", False, f"unreadable input: {problem}")
    return ValidationOutcome(suite, 0, [check], [check.description], {})


def context_dir() -> Path:
    from airloop.settings import load_settings

    return Path(
        os.environ.get("AIRLOOP_GX_DIR") or load_settings().project_root / "great_expectations"
    )


def get_context(root: str | None = None) -> Any:
    """The file data context at ``root`` (default :func:`context_dir`), cached per process."""
    return _context(str(Path(root or context_dir()).resolve()))


@cache
def _context(root: str) -> Any:
    import great_expectations as gx

    from airloop.patches import install

    install("gx_vectorised_metrics")  # GX's row-by-row pandas metrics, vectorised
    _define_calendar_expectation()  # before any suite that uses it is read
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    if not (Path(root) / "great_expectations.yml").exists():
        raise FileNotFoundError(f"no Great Expectations context at {root}")
    return gx.get_context(mode="file", context_root_dir=root)


@cache
def _define_calendar_expectation() -> None:
    """``expect_column_pair_values_a_to_be_calendar_part_of_b``: column A holds the calendar
    ``part`` of column B's date (``vectorised_checks.calendar_part``), row by row, so failing
    rows are quarantined. GX's extension point: a map metric and the expectation asking it, each
    registered by GX when its class is defined (once, hence the cache)."""
    metric = "column_pair_values.a_calendar_part_of_b"
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.expectation import ColumnPairMapExpectation
    from great_expectations.expectations.metrics import map_metric_provider as gx_map

    from airloop.core.data.vectorised_checks import calendar_matches

    class ColumnPairValuesACalendarPartOfB(gx_map.ColumnPairMapMetricProvider):
        condition_metric_name = metric  # on GX's pair domain: column_A, column_B, ignore_row_if
        condition_value_keys = ("part", "base_year")

        @gx_map.column_pair_condition_partial(engine=PandasExecutionEngine)
        def _pandas(cls, column_A: Any, column_B: Any, **kwargs: Any) -> Any:
            return calendar_matches(column_A, column_B, kwargs["part"], kwargs.get("base_year", 0))

    class ExpectColumnPairValuesAToBeCalendarPartOfB(ColumnPairMapExpectation):
        part: CalendarPart
        base_year: int = 0  # year_since counts from it
        ignore_row_if: str = "either_value_is_missing"  # a null is the not-null checks' to report
        map_metric = metric
        success_keys = ("column_A", "column_B", "ignore_row_if", "part", "base_year", "mostly")
        args_keys = ("column_A", "column_B", "part")


def ensure_checkpoint(suite_name: str, root: str | None = None) -> Any:
    """The suite's checkpoint (batch definition, validation definition, Data Docs action).

    Created once per suite and persisted in the file context, where it is committed.
    """
    import great_expectations as gx

    ctx = get_context(root)
    try:
        return ctx.checkpoints.get(suite_name)
    except Exception:  # GX raises DataContextError subclasses that vary by version
        pass
    suite = ctx.suites.get(suite_name)
    try:  # add_or_update would recreate the datasource and drop other suites' assets
        source = ctx.data_sources.get(DATASOURCE)
    except KeyError:
        source = ctx.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(suite_name)
    except LookupError:
        asset = source.add_dataframe_asset(suite_name)
    try:
        batch_def = asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        batch_def = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite_name, data=batch_def, suite=suite)
    )
    return ctx.checkpoints.add_or_update(
        gx.Checkpoint(
            name=suite_name,
            validation_definitions=[vd],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "COMPLETE"},
        )
    )


def _plain(value: Any) -> Any:
    """numpy scalars and tuples → JSON-safe Python values."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)  # JSON has no infinity: Airflow refuses such an XCom
    return value


def _describe(cfg: Any) -> str:
    """``column: expectation (arguments)``, short enough for a log line."""
    kw = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "result_format")}
    where = kw.pop("column", None) or kw.pop("column_list", None)
    if "column_A" in kw:
        where = f"{kw.pop('column_A')},{kw.pop('column_B')}"
    detail = ", ".join(f"{k}={v}" for k, v in kw.items() if k != "meta")
    detail = detail if len(detail) <= 80 else detail[:77] + "..."
    prefix = f"{','.join(where) if isinstance(where, list) else where}: " if where else ""
    return f"{prefix}{cfg.type}" + (f" ({detail})" if detail else "")


def _check(result: Any) -> tuple[CheckResult, list[int]]:
    cfg = result.expectation_config
    level = (cfg.meta or {}).get("airloop_level", "row")
    res = result.result or {}
    column = cfg.kwargs.get("column") or cfg.kwargs.get("column_A")
    exc = (result.exception_info or {}).get("exception_message") if result.exception_info else None
    description = _describe(cfg) + (f": error {exc}" if exc else "")
    indices = [int(i) for i in res.get("unexpected_index_list") or [] if isinstance(i, int | float)]
    sample = [_plain(v) for v in (res.get("partial_unexpected_list") or [])]
    check = CheckResult(cfg.type, column, level, bool(result.success), description,
                        res.get("unexpected_count"), sample[:SAMPLE_SIZE],
                        _plain(res.get("observed_value")))  # fmt: skip
    return check, indices


def validate_frame(
    frame: pd.DataFrame,
    suite_name: str,
    run_name: str,
    max_failing_fraction: float = 1.0,
    root: str | None = None,
) -> ValidationOutcome:
    """Validate ``frame`` against a suite, build Data Docs, and split failures by level."""
    from great_expectations.core.run_identifier import RunIdentifier

    checkpoint = ensure_checkpoint(suite_name, root)
    # GX's pandas engine selects rows with an all-true mask per metric, and pandas deep-copies
    # the whole frame for each (~3 s at 1M rows); copy-on-write makes those copies lazy.
    with pd.option_context("mode.copy_on_write", True):
        frame = frame.reset_index(drop=True)  # GX reports unexpected rows by index
        result = checkpoint.run(
            batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=run_name)
        )
    checks, batch_failures, row_reasons = [], [], {}
    for vr in result.run_results.values():
        for r in vr.results:
            check, indices = _check(r)
            checks.append(check)
            if check.success:
                continue
            if check.level == "batch" or not indices:
                batch_failures.append(check.description)
            for i in indices:
                row_reasons.setdefault(i, []).append(check.description)
    rows = len(frame)
    if rows and not batch_failures and len(row_reasons) / rows > max_failing_fraction:
        batch_failures.append(
            f"{len(row_reasons)} of {rows} rows fail row-level checks "
            f"({len(row_reasons) / rows:.1%} > {max_failing_fraction:.0%})"
        )
    return ValidationOutcome(
        suite_name, rows, checks, batch_failures, row_reasons, _docs_page(result)
    )


def _docs_page(result: Any) -> str | None:
    """The Data Docs page of this validation (a local file URL), when a site was built."""
    try:
        identifier = next(iter(result.run_results))
        sites = get_context().get_docs_sites_urls(resource_identifier=identifier)
    except Exception:  # Data Docs are a convenience; never fail a validation over a link
        return None
    return sites[0]["site_url"] if sites else None


def save_suite(
    name: str,
    expectations: list[dict[str, Any]],
    replace: bool = False,
    notes: str = "",
    root: str | None = None,
) -> str:
    """Store a suite built from ``{type, kwargs, meta}`` dicts; return where it was written.

    An existing suite is only replaced when asked; otherwise the new one is written as a draft
    under ``uncommitted/suggested/`` for a person to compare and curate.
    """
    import json

    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    ctx = get_context(root)
    configs = [ExpectationConfiguration(**e).to_domain_obj() for e in expectations]
    suite = gx.ExpectationSuite(name=name, expectations=configs, meta={"notes": notes})
    exists = name in {s.name for s in ctx.suites.all()}
    if exists and not replace:
        draft = Path(ctx.root_directory) / "uncommitted" / "suggested" / f"{name}.json"
        draft.parent.mkdir(parents=True, exist_ok=True)
        draft.write_text(json.dumps(suite.to_json_dict(), indent=2, default=str))
        return str(draft)
    if exists:
        ctx.suites.delete(name)
    ctx.suites.add(suite)
    return str(Path(ctx.root_directory) / "expectations" / (name.replace(".", "/") + ".json"))
