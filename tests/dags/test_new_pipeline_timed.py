"""A data engineer's files with a time column: scaffold, run ten days, get a champion and drift
reports — classification and regression, through real DAG runs (`airloop run`, in-process)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import unseen_data
from _support import scaffold_and_run, scaffold_project


def _reports(env: dict[str, str], name: str, day: date) -> Path:
    return Path(env["AIRLOOP_HOME"]) / "lake" / name / "monitor" / f"date={day}"


def test_ten_days_of_scaffolded_pipelines_with_a_time_column(tmp_path: Path) -> None:
    root, env = scaffold_project(tmp_path)

    status = scaffold_and_run(
        tmp_path,
        env,
        "machine_failure",
        unseen_data.machines(tmp_path),
        "failure",
        "classification",
        "--time-column",
        "reading_date",
    )
    champion = status["champion"]
    assert champion and champion["version"] >= 1, status["run_output"]
    holdout = champion["metrics"]
    assert {"holdout_roc_auc", "holdout_f1", "holdout_log_loss", "holdout_recall_positive",
            "holdout_recall_negative"} <= set(holdout)  # fmt: skip
    assert holdout["holdout_roc_auc"] >= 0.6  # the floor the scaffold set
    last = date(2023, 3, 10)
    assert status["last_drift"]["date"] == last.isoformat()
    folder = _reports(env, "machine_failure", last)
    assert {"drift.html", "quality.html"} <= {p.name for p in folder.iterdir()}
    record = json.loads((folder / "_manifest.json").read_text())["drift"]
    assert record["target_drift"]["stattest"] and record["quality"]["roc_auc"] is not None
    assert record["labelled_rows"] > 0
    predictions = Path(env["AIRLOOP_HOME"]) / "lake" / "machine_failure" / "predictions"
    assert any(predictions.iterdir())

    # The smoke test the scaffold wrote passes in the project it was written into.
    smoke = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_pipeline_machine_failure.py"],
        cwd=root, env={**env, "PYTHONPATH": str(root / "tests")}, capture_output=True, text=True,
    )  # fmt: skip
    assert smoke.returncode == 0, smoke.stdout[-3000:]
    assert "2 passed" in smoke.stdout

    status = scaffold_and_run(tmp_path, env, "energy_use", unseen_data.energy(tmp_path), "kwh",
                              "regression", "--time-column", "day")  # fmt: skip
    assert status["champion"]["version"] >= 1, status["run_output"]
    first = date(2022, 10, 1)
    assert status["last_drift"]["date"] == (first + timedelta(days=9)).isoformat()
    assert (_reports(env, "energy_use", first + timedelta(days=9)) / "drift.html").exists()
