"""Multi-class classification: the spec, metrics, the paired bootstrap, training and scoring.

Real scikit-learn fits on small generated data; no Airflow, MLflow or Evidently (the drift side
is in tests/dags/test_drift_multiclass.py, the whole loop in tests/dags/test_multiclass_loop.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from airloop.core.model import classes, decision, metrics, scoring, training
from airloop.spec import PipelineSpec, PromotionSpec

CLASSES = ["sun", "rain", "fog"]


def _spec(**changes: Any) -> PipelineSpec:
    raw = {
        "name": "weather", "task": "classification", "target": "weather", "classes": CLASSES,
        "key": ["id"], "features": ["x1", "x2", "region"], "start_date": "2024-01-01",
        "source": {"kind": "file", "path": "weather.csv"},
        "training": {"estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                     "categorical_features": ["region"], "min_rows": 50},
        "promotion": {"metric": "macro_f1", "floor": 0.4, "bootstrap_resamples": 300},
    }  # fmt: skip
    return PipelineSpec.model_validate({**raw, **changes})


def _rows(n: int, seed: int, absent: str | None = None) -> pd.DataFrame:
    """Three weather classes from two numbers and a region; ``absent`` never occurs."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    region = rng.choice(["north", "south"], n)
    score = np.c_[x1, x2, -x1 - x2 + (region == "north")] + rng.normal(0, 0.6, (n, 3))
    if absent:
        score[:, CLASSES.index(absent)] = -np.inf
    return pd.DataFrame({"id": np.arange(n), "x1": x1, "x2": x2, "region": region,
                         "weather": np.array(CLASSES)[score.argmax(axis=1)]})  # fmt: skip


def _model(spec: PipelineSpec, train: pd.DataFrame) -> Any:
    data = training.TrainingData(train, train.head(10), [], (date(2024, 1, 1),) * 2,
                                 date(2024, 1, 1))  # fmt: skip
    return training.fit(spec, data)


# -- spec -------------------------------------------------------------------------------------
def test_classes_make_a_multiclass_spec_and_binary_specs_stay_binary() -> None:
    assert _spec().multiclass and _spec().classes == CLASSES
    binary = _spec(classes=None, positive_class="rain", promotion={"metric": "roc_auc",
                                                                   "floor": 0.6})  # fmt: skip
    assert not binary.multiclass and binary.positive_class == "rain"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"classes": ["sun", "rain"]}, "at least 3 labels"),
        ({"positive_class": "sun"}, "either positive_class (binary) or classes"),
        ({"promotion": {"metric": "roc_auc", "floor": 0.6}}, "'roc_auc' is binary-only"),
        ({"classes": ["sun", "rain", "sun"]}, "duplicates"),
        ({"classes": ["sun", 1, 2]}, "mixes integers and strings"),
        ({"classes": ["sun", "rain", "fog/mist"]}, "['fog/mist'] must be"),
        ({"classes": ["sun", "rain", "prediction"]}, "clash with the target or prediction"),
        ({"task": "regression", "promotion": {"metric": "rmse", "floor": 1}},
         "classes is for task classification"),
    ],
)  # fmt: skip
def test_bad_classes_are_refused_with_the_reason(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=r"classes|binary") as caught:
        _spec(**changes)
    assert message in str(caught.value)


# -- metrics ----------------------------------------------------------------------------------
def _probabilities(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n).astype(float)
    p = rng.dirichlet(np.ones(k), n)
    p[np.arange(n), y.astype(int)] += 0.5  # better than chance
    return y, p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("absent", [None, 2])
def test_multiclass_metrics_match_sklearn_even_with_a_class_absent(absent: int | None) -> None:
    y, p = _probabilities(300, 3, seed=1)
    if absent is not None:
        y[y == absent] = 0  # the holdout lacks a class the probability matrix has
    codes = y.astype(int)
    assert metrics.score("log_loss", y, p) == pytest.approx(sk.log_loss(codes, p, labels=[0, 1, 2]))
    assert metrics.score("accuracy", y, p) == pytest.approx(sk.accuracy_score(codes, p.argmax(1)))
    assert metrics.score("macro_f1", y, p) == pytest.approx(
        sk.f1_score(codes, p.argmax(1), average="macro", zero_division=0)
    )


def test_macro_f1_of_resamples_matches_sklearn_per_resample() -> None:
    rng = np.random.default_rng(2)
    y, predicted = rng.integers(0, 4, (50, 40)), rng.integers(0, 4, (50, 40))
    predicted[:10] = 3  # resamples that predict one class only ...
    y[5:15] %= 3  # ... or whose truth lacks class 3
    found = metrics.macro_f1_resampled(y, predicted, 4)
    expected = [sk.f1_score(a, b, average="macro", zero_division=0)
                for a, b in zip(y, predicted, strict=True)]  # fmt: skip
    assert found == pytest.approx(expected)


def test_binary_only_metrics_and_bad_codes_are_refused_for_a_matrix() -> None:
    y, p = _probabilities(20, 3, seed=3)
    with pytest.raises(ValueError, match="roc_auc is not defined for a multi-class"):
        metrics.score("roc_auc", y, p)
    with pytest.raises(ValueError, match=r"class codes 0\.\.2"):
        metrics.score("accuracy", y + 5, p)


def test_per_class_recall_of_a_matrix_is_nan_for_an_absent_class() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0.1, 0.9, 0], [0.1, 0.9, 0]])
    assert metrics.per_class_recall(y, p)[0] == 0.5 and metrics.per_class_recall(y, p)[1] == 1
    assert np.isnan(metrics.per_class_recall(y, p)[2])


# -- the paired bootstrap on probability matrices ---------------------------------------------
@pytest.mark.parametrize("metric", ["log_loss", "accuracy", "macro_f1"])
def test_decision_on_probability_matrices(metric: str) -> None:
    y, good = _probabilities(400, 3, seed=4)
    y[y == 2] = 1  # class 2 absent from the holdout: nothing crashes
    rng = np.random.default_rng(5)
    bad = rng.dirichlet(np.ones(3), len(y))  # chance
    policy = PromotionSpec(metric=metric, floor=10 if metric == "log_loss" else 0.1,
                           bootstrap_resamples=300)  # fmt: skip
    better = decision.decide(policy, y, good, bad)
    assert better.outcome == decision.PROMOTE, better.reason
    assert 0 < better.ci_low <= better.relative_improvement <= better.ci_high
    assert decision.decide(policy, y, bad, good).outcome == decision.REJECT
    same = decision.decide(policy, y, good, good.copy())
    assert same.outcome == decision.INCONCLUSIVE and same.relative_improvement == 0


@pytest.mark.parametrize("metric", ["log_loss", "accuracy", "macro_f1"])
def test_vectorised_bootstrap_equals_scoring_each_resample(metric: str) -> None:
    rng = np.random.default_rng(6)
    idx = rng.integers(0, 200, (50, 200))
    for y, p in (_probabilities(200, 3, seed=7),
                 (rng.integers(0, 2, 200).astype(float), rng.random(200))):  # fmt: skip
        slow = [metrics.score(metric, y[i], p[i]) for i in idx]
        assert decision.resampled(metric, y, p, idx) == pytest.approx(slow)


# -- training, prediction, scoring ------------------------------------------------------------
def test_a_class_absent_from_training_gets_probability_zero_in_its_column() -> None:
    spec = _spec()
    model = _model(spec, _rows(400, seed=8, absent="fog"))
    p = training.predict(model, spec, _rows(50, seed=9))
    assert p.shape == (50, 3) and np.all(p[:, 2] == 0)
    assert np.allclose(p.sum(axis=1), 1)


def test_a_single_class_window_or_an_unknown_label_is_refused() -> None:
    spec = _spec()
    with pytest.raises(training.NotEnoughData, match="single class"):
        _model(spec, _rows(100, seed=10).assign(weather="sun"))
    with pytest.raises(ValueError, match=r"labels \['hail'\] that are not in the spec's classes"):
        _model(spec, _rows(100, seed=10).assign(weather=lambda f: f.weather.where(
            f.index > 0, "hail")))  # fmt: skip


def test_scoring_writes_the_label_and_one_probability_column_per_class() -> None:
    spec = _spec()
    model = _model(spec, _rows(400, seed=11))
    frame = _rows(60, seed=12)
    out = scoring.predictions_frame(spec, frame, model, 3, "run")
    assert list(out.columns) == ["id", "prediction", "proba_sun", "proba_rain", "proba_fog",
                                 "model_version", "model_run_id"]  # fmt: skip
    matrix = classes.frame_matrix(spec, out)
    assert np.allclose(matrix.sum(axis=1), 1)
    assert list(out["prediction"]) == [CLASSES[j] for j in matrix.argmax(axis=1)]
    y = training.target_values(spec, frame["weather"])
    assert metrics.score("accuracy", y, matrix) > 0.6  # it learnt something


def test_binary_scoring_output_is_unchanged() -> None:
    spec = _spec(classes=None, positive_class="rain", promotion={"metric": "roc_auc",
                                                                 "floor": 0.6})  # fmt: skip
    model = _model(spec, _rows(300, seed=13))
    out = scoring.predictions_frame(spec, _rows(20, seed=14), model, 1, "run")
    assert list(out.columns) == ["id", "prediction", "predicted_label", "model_version",
                                 "model_run_id"]  # fmt: skip
    assert out["prediction"].between(0, 1).all()


def test_reference_sample_keeps_labels_and_probabilities() -> None:
    spec = _spec()
    train = _rows(300, seed=15)
    model = _model(spec, train)
    data = training.TrainingData(train, train.head(10), [], (date(2024, 1, 1),) * 2,
                                 date(2024, 1, 1))  # fmt: skip
    ref = training.reference_sample(spec, data, model)
    assert set(ref["weather"]) <= set(CLASSES) and set(ref["prediction"]) <= set(CLASSES)
    assert {"proba_sun", "proba_rain", "proba_fog"} <= set(ref.columns)


@pytest.mark.parametrize("metric", ["log_loss", "accuracy"])
def test_quality_trigger_vectors_give_the_multiclass_metric(metric: str) -> None:
    spec = _spec()
    y, p = _probabilities(100, 3, seed=16)
    frame = pd.DataFrame({"weather": np.array(CLASSES, dtype=object)[y.astype(int)],
                          **{f"proba_{c}": p[:, j] for j, c in enumerate(CLASSES)}})  # fmt: skip
    frame.loc[0, "weather"] = None  # not labelled yet: left out
    used, truth, predicted = classes.mean_of_rows(spec, frame, metric)
    assert used == metric and np.isnan(truth[0])
    assert metrics.score(metric, truth[1:], predicted[1:]) == pytest.approx(
        metrics.score(metric, y[1:], p[1:])
    )
    assert classes.mean_of_rows(spec, frame, "macro_f1")[0] == "accuracy"


def test_the_model_server_answers_labels_and_per_class_probabilities() -> None:
    from airloop.serving import app

    spec = _spec()
    columns = {"x1": "double", "x2": "double", "region": "string"}
    served = app.Served(1, "run", _model(spec, _rows(300, seed=17)), columns)
    rows = _rows(3, seed=18)[list(columns)].to_dict("records")
    found = app.predict(served, spec, rows)
    assert set(found["predictions"]) <= set(CLASSES) and len(found["probabilities"]) == 3
    assert set(found["probabilities"][0]) == set(CLASSES)
    assert sum(found["probabilities"][0].values()) == pytest.approx(1)
    best = max(found["probabilities"][0], key=found["probabilities"][0].get)
    assert found["predictions"][0] == best
