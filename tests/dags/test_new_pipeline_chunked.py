"""A data engineer's files without a time column: replayed in fixed-size chunks, one a day —
scaffold, run ten days, get a champion and drift reports (classification and regression)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import unseen_data
from _support import scaffold_and_run, scaffold_project


def test_ten_days_of_scaffolded_pipelines_without_a_time_column(tmp_path: Path) -> None:
    _, env = scaffold_project(tmp_path)
    lake = Path(env["AIRLOOP_HOME"]) / "lake"

    # Text labels, tab-separated, rows sorted by label: replayed shuffled with a row id.
    status = scaffold_and_run(tmp_path, env, "loan_decisions", unseen_data.loans(tmp_path),
                              "decision", "classification")  # fmt: skip
    assert status["champion"]["version"] >= 1, status["run_output"]
    assert status["champion"]["metrics"]["holdout_roc_auc"] >= 0.6
    assert status["last_drift"]["date"] == "2024-01-10"
    assert status["last_drift"]["quality"]["roc_auc"] is not None  # labels joined by row id
    assert (lake / "loan_decisions" / "monitor" / "date=2024-01-10" / "quality.html").exists()

    status = scaffold_and_run(tmp_path, env, "parcel_minutes", unseen_data.parcels(tmp_path),
                              "minutes", "regression", "--start-date", "2025-02-01")  # fmt: skip
    assert status["champion"]["version"] >= 1, status["run_output"]
    assert status["last_drift"]["date"] == date(2025, 2, 10).isoformat()
    assert (lake / "parcel_minutes" / "monitor" / "date=2025-02-10" / "drift.html").exists()
