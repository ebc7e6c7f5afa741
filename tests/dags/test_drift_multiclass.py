"""Multi-class drift and quality against real Evidently, with a window where a class is absent.

Evidently 0.7's by-label classification metrics crash when a class of the probability columns
is absent from a window's target (evidently issues #1002, #1275); ``drift`` then runs its
overall metrics only. The last test reproduces the upstream crash, so it says when the
work-around can go.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from airloop.core.model import metrics
from airloop.core.monitor import drift

CLASSES = ["sun", "rain", "fog"]
PROBAS = [f"proba_{c}" for c in CLASSES]
FEATURES = ["x1", "x2", "region"]


def _frame(n: int, seed: int, absent: str | None = None) -> pd.DataFrame:
    """Rows with a label, a fair model's probabilities and its label; ``absent`` never occurs."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    region = rng.choice(["north", "south"], n)
    score = np.c_[x1, x2, -x1 - x2 + (region == "north")]
    noisy = score + rng.normal(0, 0.8, (n, 3))
    if absent:
        noisy[:, CLASSES.index(absent)] = -np.inf
    proba = np.exp(score) / np.exp(score).sum(axis=1, keepdims=True)
    return pd.DataFrame({
        "x1": x1, "x2": x2, "region": region,
        "weather": np.array(CLASSES, dtype=object)[noisy.argmax(axis=1)],
        "prediction": np.array(CLASSES, dtype=object)[proba.argmax(axis=1)],
        **dict(zip(PROBAS, proba.T, strict=True)),
    })  # fmt: skip


def _compute(current: pd.DataFrame) -> drift.DriftResult:
    return drift.compute(
        _frame(1500, seed=0), current.drop(columns=["prediction", *PROBAS]),
        features=FEATURES, target="weather", task="classification", categorical=["region"],
        current_predictions=current["prediction"], labelled=current, classes=CLASSES,
    )  # fmt: skip


def _ours(frame: pd.DataFrame) -> dict[str, float]:
    y = frame["weather"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy(float)
    return {m: metrics.score(m, y, frame[PROBAS].to_numpy()) for m in metrics.MULTICLASS}


def _kinds(result: drift.DriftResult) -> set[str]:
    snapshot = json.loads(result.artifacts["quality.json"])
    return {m["config"]["type"].rsplit(":", 1)[-1] for m in snapshot["metrics"]}


def test_a_window_with_every_class_gets_evidentlys_full_preset() -> None:
    current = _frame(600, seed=1)
    found = _compute(current)
    summary = found.summary
    assert summary["quality"] == pytest.approx(_ours(current), rel=1e-4)
    assert {"F1ByLabel", "RecallByLabel", "LogLoss"} <= _kinds(found)
    assert summary["target_drift"]["stattest"] and summary["prediction_drift"]["stattest"]
    assert summary["labelled_rows"] == 600 and "quality.html" in found.artifacts


def test_a_window_without_one_class_reports_quality_and_target_drift() -> None:
    current = _frame(600, seed=2, absent="fog")
    assert "fog" not in set(current["weather"])
    found = _compute(current)
    summary = found.summary
    # Evidently's overall metrics on it, checked against ours; no by-label part.
    assert summary["quality"] == pytest.approx(_ours(current), rel=1e-4)
    kinds = _kinds(found)
    assert {"Accuracy", "F1Score", "LogLoss"} <= kinds and "F1ByLabel" not in kinds
    assert summary["reference_quality"]["log_loss"] is not None
    assert summary["target_drift"]["drifted"]  # a third of the labels vanished
    assert b"<html" in found.artifacts["quality.html"][:200].lower()


def test_evidently_still_crashes_on_a_window_without_one_class() -> None:
    """The upstream bug drift works around (quality_by_class_metric.py: KeyError)."""
    from evidently import DataDefinition, Dataset, MulticlassClassification, Report
    from evidently.presets import ClassificationPreset

    named = dict(zip(PROBAS, CLASSES, strict=True))  # Evidently names probabilities by label
    frames = [_frame(300, seed=3, absent="fog").rename(columns=named),
              _frame(300, seed=4).rename(columns=named)]  # fmt: skip
    definition = DataDefinition(
        classification=[MulticlassClassification(target="weather", prediction_labels="prediction",
                                                 prediction_probas=CLASSES)],
        numerical_columns=CLASSES, categorical_columns=["weather", "prediction"],
    )  # fmt: skip
    current, reference = (Dataset.from_pandas(f, data_definition=definition) for f in frames)
    with warnings.catch_warnings(), pytest.raises(KeyError, match="fog"):
        warnings.simplefilter("ignore")
        Report([ClassificationPreset()]).run(current, reference)
