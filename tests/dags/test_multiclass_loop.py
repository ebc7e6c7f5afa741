"""A multi-class pipeline end to end through real DAG runs: `airloop new-pipeline` on a 3-class
weather file, then `airloop run` (ingest → validate → train → evaluate/promote → score →
monitor), with a dry spell in which one class (fog) never occurs.

The monitoring window is two days, so the loop measures windows with every class (the day after
the first model) and windows without fog (the dry days); on so few rows a day drifts easily, and
the eager policy turns that into a second model, whose promotion decision is the paired
bootstrap on macro F1 against the first.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from _support import _Environ, scaffold_project
from airloop.core.data.lake import Lake

NAME, CLASSES = "weather_kind", ["fog", "rain", "sun"]  # the scaffold sorts the labels
START, DAYS, DRY_FROM = date(2024, 3, 1), 9, 6


def _weather(folder: Path) -> Path:
    """120 readings a day; from day DRY_FROM on, drier and warmer air and no fog at all."""
    rng = np.random.default_rng(7)
    frames = []
    for d in range(DAYS):
        dry, n = d >= DRY_FROM, 120
        humidity = rng.normal(50 if dry else 70, 8, n)
        temperature = rng.normal(16 if dry else 12, 4, n)
        wind = rng.gamma(2, 2, n)
        coast = rng.random(n) < 0.5
        score = np.c_[
            0.15 * (humidity - 70) - 0.5 * (wind - 4) + coast,  # fog
            0.04 * (humidity - 60) + 0.7 * (wind - 4),  # rain
            0.25 * (temperature - 12) - 0.08 * (humidity - 70),  # sun
        ] + rng.gumbel(0, 0.7, (n, 3))
        if dry:
            score[:, 0] = -np.inf
        frames.append(pd.DataFrame({
            "day": (START + timedelta(days=d)).isoformat(), "reading_id": d * n + np.arange(n),
            "humidity": humidity.round(1), "temperature": temperature.round(1),
            "wind": wind.round(2), "site": np.where(coast, "coast", "inland"),
            "weather": np.array(CLASSES)[score.argmax(axis=1)],
        }))  # fmt: skip
    path = folder / "weather.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def _cli(env: dict[str, str], *args: str) -> str:
    """An ``airloop`` command in this process (same code, no interpreter start-up)."""
    from airloop import cli

    out, err = io.StringIO(), io.StringIO()
    with _Environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert cli.main(list(args)) == 0, err.getvalue()
    return out.getvalue()


def _monitored(lake: Path, day: date) -> tuple[dict, set[str]]:
    """The day's monitoring record and the Evidently metric kinds of its quality report."""
    folder = lake / "monitor" / f"date={day}"
    record = json.loads((folder / "_manifest.json").read_text())["drift"]
    snapshot = json.loads((folder / "quality.json").read_text())
    return record, {m["config"]["type"].rsplit(":", 1)[-1] for m in snapshot["metrics"]}


def test_a_multiclass_pipeline_runs_its_loop_with_a_class_absent(tmp_path: Path) -> None:
    root, env = scaffold_project(tmp_path)
    data = _weather(tmp_path)
    _cli(env, "new-pipeline", NAME, "--data", str(data), "--target", "weather",
         "--task", "classification", "--time-column", "day")  # fmt: skip
    spec_file = root / "include" / "pipelines" / f"{NAME}.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    assert spec["classes"] == CLASSES and spec["promotion"]["metric"] == "macro_f1"
    # Short windows and an eager policy, so nine days hold every case (see the docstring).
    spec["monitoring"]["window_days"] = 2
    spec["monitoring"]["policy"].update(initial_min_days=5, persistence_k=1, persistence_n=1,
                                        cooldown_days=0, drift_share=0.25)  # fmt: skip
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))

    airloop = str(Path(sys.executable).parent / "airloop")
    ran = subprocess.run(
        [airloop, "run", NAME, "--start", START.isoformat(), "--days", str(DAYS)],
        env=env, timeout=600, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    table = ran.stdout.split("\ndate ", 1)[1].splitlines()[1:]
    assert len(table) == DAYS and all(" valid " in line for line in table), ran.stdout

    # In a subprocess, as `airloop run`: in this process it would point Airflow's settings at
    # this project's database for the tests that follow.
    shown = subprocess.run([airloop, "status", NAME, "--json"], env=env, timeout=300,
                           capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-3000:]
    status = json.loads(shown.stdout)
    holdout = status["champion"]["metrics"]
    assert holdout["holdout_macro_f1"] >= spec["promotion"]["floor"]
    assert {f"holdout_recall_{c}" for c in CLASSES} <= set(holdout)
    lake = Path(env["AIRLOOP_HOME"]) / "lake" / NAME

    # Scoring: the label and one probability column per class.
    first_scored = START + timedelta(days=5)
    predictions = Lake(lake.parent, NAME).read("predictions", first_scored)
    assert set(predictions["prediction"]) <= set(CLASSES)
    probabilities = predictions[[f"proba_{c}" for c in CLASSES]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1)

    # Monitoring with every class: Evidently's full preset, by-label metrics included.
    record, kinds = _monitored(lake, first_scored)
    assert record["labelled_rows"] == 120 and record["quality"]["macro_f1"] is not None
    assert "F1ByLabel" in kinds
    assert record["quality_check"]["metric"] == "accuracy"  # macro F1 is judged by accuracy
    assert record["quality_check"]["live"] is not None

    # A window without fog: labelled rows, quality and target drift, no crash.
    dry = START + timedelta(days=DRY_FROM + 1)
    window = pd.concat([pd.read_csv(data).query("day == @d.isoformat()")
                        for d in (dry - timedelta(days=1), dry)])  # fmt: skip
    assert "fog" not in set(window["weather"])
    record, kinds = _monitored(lake, dry)
    assert record["labelled_rows"] == len(window)
    assert record["quality"]["log_loss"] is not None and record["quality"]["accuracy"] is not None
    assert "F1ByLabel" not in kinds and "LogLoss" in kinds
    assert record["target_drift"]["drifted"] and record["drift_share"] >= 0.25

    # Drift trained a second model, judged against the first on macro F1.
    entries = [json.loads(p.read_text()) for p in (lake / "ledger").glob("*.json")]
    judged = [e for e in entries if e["from_version"] is not None]
    assert judged, entries
    found = judged[0]["decision"]
    assert found["metric"] == "macro_f1" and found["ci_low"] is not None
    assert found["champion_metric"] is not None and found["holdout_rows"] > 0
