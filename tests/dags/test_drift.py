"""airloop.core.monitor.drift against real Evidently: data, prediction and target drift, quality,
costs."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from _support import HOUR_CSV
from airloop.core.monitor import drift
from airloop.core.simulators.simulator import DriftScenario, simulate_range

FEATURES = [
    "season", "yr", "mnth", "hr", "holiday", "weekday", "workingday", "weathersit",
    "temp", "atemp", "hum", "windspeed",
]  # fmt: skip
CATEGORICAL = ["season", "weathersit", "weekday"]
START = date(2011, 4, 1)
DAYS = 120  # ~2.9k rows a side: above Evidently's 1000-row switch to distance-based tests


def _predict(frame: pd.DataFrame, profile: pd.Series) -> pd.Series:
    """A crude but feature-driven model: the reference's mean count by (hr, workingday)."""
    keys = pd.MultiIndex.from_frame(frame[["hr", "workingday"]])
    return pd.Series(profile.reindex(keys).to_numpy() * (0.6 + frame["temp"]), index=frame.index)


@pytest.fixture(scope="module")
def world() -> dict:
    ref = simulate_range(START, DAYS, seed=1)
    profile = ref.groupby(["hr", "workingday"])["cnt"].mean()
    ref["prediction"] = _predict(ref, profile)
    same = simulate_range(START, DAYS, seed=2)  # same calendar and climate, other weather draws
    shift = DriftScenario(start=START, temp_shift=0.3, humidity_shift=0.25)
    drifted = simulate_range(START, DAYS, seed=2, drift=shift)
    return {"ref": ref, "profile": profile, "same": same, "drifted": drifted}


def _run(world: dict, current: pd.DataFrame, **kwargs) -> drift.DriftResult:
    kwargs.setdefault("current_predictions", _predict(current, world["profile"]))
    return drift.compute(
        world["ref"],
        current,
        features=FEATURES,
        target="cnt",
        task="regression",
        categorical=CATEGORICAL,
        **kwargs,
    )


@pytest.fixture(scope="module")
def same(world: dict) -> drift.DriftResult:
    labelled = world["same"].assign(prediction=_predict(world["same"], world["profile"]))
    return _run(world, world["same"], labelled=labelled)


@pytest.fixture(scope="module")
def drifted(world: dict) -> drift.DriftResult:
    return _run(world, world["drifted"], drift_share_threshold=0.25)


def test_same_regime_shows_little_drift(same: drift.DriftResult) -> None:
    s = same.summary
    assert s["drift_share"] <= 0.25, s["drifted_columns"]
    assert s["dataset_drift"] is False
    assert not {"temp", "atemp"} & set(s["drifted_columns"])
    assert s["prediction_drift"]["drifted"] is False
    assert s["target_drift"] is None  # regression: target drift is not reported
    assert s["columns_compared"] == FEATURES and s["columns_dropped"] == []
    assert s["current_rows"] == s["current_rows_total"] > 2000
    assert s["evidently_version"] == "0.7.23" and s["compute_seconds"] > 0
    json.dumps(s)  # the summary is JSON-able as is


def test_column_types_follow_categorical_and_cardinality(same: drift.DriftResult) -> None:
    tests = {c: v["stattest"] for c, v in same.summary["columns"].items()}
    assert tests["weekday"] == tests["weathersit"] == "Jensen-Shannon distance"  # categorical
    for numeric in ("hr", "temp", "hum"):  # ints with 24 values stay numeric
        assert tests[numeric] == "Wasserstein distance (normed)"
    assert tests["holiday"] == "Jensen-Shannon distance"  # a 0/1 numeric column: binned
    for column in same.summary["columns"].values():
        assert set(column) == {"stattest", "score", "threshold", "drifted", "threshold_source"}
        assert column["drifted"] == (column["score"] >= column["threshold"])
        assert column["threshold_source"] == "Evidently's default"


def test_strong_shift_is_detected(drifted: drift.DriftResult) -> None:
    s = drifted.summary
    assert {"temp", "atemp", "hum"} <= set(s["drifted_columns"])
    assert s["drift_share"] >= 0.25 and s["dataset_drift"] is True  # threshold passed through
    assert s["prediction_drift"]["drifted"] is True  # the model reacts to the warmer weather
    assert s["quality"] is None and s["reference_quality"] is None and s["labelled_rows"] == 0
    assert set(drifted.artifacts) == {"drift.html", "drift.json"}


def test_drift_share_agrees_with_evidentlys_own_count(drifted: drift.DriftResult) -> None:
    report = json.loads(drifted.artifacts["drift.json"])
    (count,) = [m for m in report["metrics"] if "DriftedColumnsCount" in m["config"]["type"]]
    assert drifted.summary["drift_share"] == pytest.approx(count["value"]["share"], abs=1e-6)


def test_quality_matches_numpy(world: dict, same: drift.DriftResult) -> None:
    cur, ref = world["same"], world["ref"]
    pred = _predict(cur, world["profile"])
    q, rq = same.summary["quality"], same.summary["reference_quality"]
    assert set(q) == set(rq) == {"rmse", "mae", "r2", "mean_error"}
    assert q["rmse"] == pytest.approx(np.sqrt(np.mean((cur["cnt"] - pred) ** 2)), rel=1e-5)
    assert q["mae"] == pytest.approx(np.mean(np.abs(cur["cnt"] - pred)), rel=1e-5)
    assert q["mean_error"] == pytest.approx(np.mean(pred - cur["cnt"]), rel=1e-4)
    ref_rmse = np.sqrt(np.mean((ref["cnt"] - ref["prediction"]) ** 2))
    assert rq["rmse"] == pytest.approx(ref_rmse, rel=1e-5)
    assert same.summary["labelled_rows"] == len(cur)


def test_artifacts_are_html_and_json(same: drift.DriftResult) -> None:
    assert set(same.artifacts) == {"drift.html", "drift.json", "quality.html", "quality.json"}
    for name in ("drift", "quality"):
        html = same.artifacts[f"{name}.html"].decode()
        assert html.lstrip().lower().startswith(("<!doctype html", "<html"))
        assert "metrics" in json.loads(same.artifacts[f"{name}.json"])
    assert "Drift" in same.artifacts["drift.html"].decode()


def test_large_current_is_sampled_and_columns_capped(world: dict) -> None:
    base = world["same"]
    big = pd.concat([base] * (200_000 // len(base) + 1), ignore_index=True).head(200_000)
    shifted = _predict(big, world["profile"]) * 1.6 + 40  # a model gone wrong
    kwargs = {"current_predictions": shifted, "sample_rows": 1500, "max_columns": 5}
    first = _run(world, big, **kwargs)
    s = first.summary
    assert s["current_rows_total"] == 200_000
    assert s["current_rows"] == s["reference_rows"] == s["sample_rows"] == 1500
    assert s["columns_compared"] == FEATURES[:5] and s["columns_dropped"] == FEATURES[5:]
    assert list(s["columns"]) == FEATURES[:5]
    assert s["prediction_drift"]["drifted"] is True
    again = _run(world, big, **kwargs).summary  # seeded: the same sample, the same scores
    assert again["columns"] == s["columns"] and again["prediction_drift"] == s["prediction_drift"]


def test_nullable_dtypes_give_the_same_answer(world: dict) -> None:
    ref, cur = world["ref"].head(900), world["same"].head(900)
    kwargs = {"features": FEATURES, "target": "cnt", "task": "regression"}
    kwargs |= {"categorical": CATEGORICAL, "max_columns": 12}
    plain = drift.compute(ref, cur, **kwargs).summary
    types = {"hr": "Int64", "temp": "Float64", "hum": "Float64", "weathersit": "string"}
    nullable = drift.compute(ref.astype(types), cur.astype(types), **kwargs).summary
    assert nullable["columns"] == plain["columns"]
    ref_na = ref.astype(types)
    ref_na.loc[ref_na.index[:3], ["hr", "temp", "weathersit"]] = pd.NA
    assert drift.compute(ref_na, cur.astype(types), **kwargs).summary["drift_share"] is not None


def test_classification_target_drift_and_quality(world: dict, capfd, recwarn) -> None:
    ref, cur = world["ref"].copy(), world["same"].copy()
    median = ref["cnt"].median()
    for frame in (ref, cur):
        frame["busy"] = (frame["cnt"] > median).astype(int)
        frame.drop(columns="cnt", inplace=True)
    ref["prediction"] = 1 / (1 + np.exp(-(ref.pop("prediction") - median) / 60))
    proba = 1 / (1 + np.exp(-(_predict(cur, world["profile"]) - median) / 60))
    result = drift.compute(
        ref,
        cur,
        features=FEATURES,
        target="busy",
        task="classification",
        categorical=CATEGORICAL,
        current_predictions=proba,
        labelled=cur.assign(prediction=proba),
        sample_rows=2000,
    )
    s = result.summary
    assert set(s["target_drift"]) == {"stattest", "score", "threshold", "drifted"}
    assert s["target_drift"]["drifted"] is False
    assert set(s["quality"]) == set(s["reference_quality"]) == {
        "roc_auc", "f1", "log_loss", "accuracy",
    }  # fmt: skip
    from sklearn.metrics import roc_auc_score

    # Both sides are 2000-row samples of ~2.9k rows: close to, not equal to, the full value.
    assert s["labelled_rows"] == s["reference_rows"] == 2000
    assert s["labelled_rows_total"] == len(cur)
    assert s["quality"]["roc_auc"] == pytest.approx(roc_auc_score(cur["busy"], proba), abs=0.02)
    ref_auc = roc_auc_score(ref["busy"], ref["prediction"])
    assert s["reference_quality"]["roc_auc"] == pytest.approx(ref_auc, abs=0.02)
    out, err = capfd.readouterr()
    assert "it/s" not in err + out and "%|" not in err + out  # no progress bars
    noisy = [w for w in recwarn if issubclass(w.category, RuntimeWarning | FutureWarning)]
    assert not noisy, [str(w.message) for w in noisy]  # Evidently's own warnings are silenced


def test_real_january_against_july() -> None:
    if not HOUR_CSV.exists():
        pytest.skip(f"{HOUR_CSV} not present")
    hours = pd.read_csv(HOUR_CSV)
    jan = hours[hours["dteday"].str.startswith("2011-01")]
    jul = hours[hours["dteday"].str.startswith("2011-07")]
    kwargs = {"target": "cnt", "task": "regression", "categorical": CATEGORICAL}
    s = drift.compute(jan, jul, features=FEATURES, **kwargs).summary
    assert {"temp", "atemp", "hum", "season", "mnth"} <= set(s["drifted_columns"])
    assert s["drift_share"] >= 0.5 and s["dataset_drift"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r, c: (r, c.drop(columns=["hum", "temp"])), r"current lacks .*\['temp', 'hum'\]"),
        (lambda r, c: (r.drop(columns="hr"), c), r"reference lacks feature columns \['hr'\]"),
        (lambda r, c: (r.iloc[:0], c), "reference is empty"),
        (lambda r, c: (r, c.iloc[:0]), "current is empty"),
    ],
)
def test_bad_frames_are_named(world: dict, change, message: str) -> None:
    ref, cur = change(world["ref"], world["same"])
    with pytest.raises(ValueError, match=message):
        drift.compute(ref, cur, features=FEATURES, target="cnt", task="regression")


def test_predictions_need_a_reference_prediction_and_alignment(world: dict) -> None:
    cur = world["same"]
    preds = _predict(cur, world["profile"])
    kwargs = {"features": FEATURES, "target": "cnt", "task": "regression"}
    with pytest.raises(ValueError, match="reference lacks a 'prediction' column"):
        drift.compute(
            world["ref"].drop(columns="prediction"), cur, current_predictions=preds, **kwargs
        )
    with pytest.raises(ValueError, match="index"):
        drift.compute(world["ref"], cur, current_predictions=preds.iloc[::-1], **kwargs)
    with pytest.raises(ValueError, match="not features"):
        drift.compute(world["ref"], cur, categorical=["nope"], **kwargs)


def test_single_class_labels_still_give_quality(world: dict) -> None:
    ref, cur = world["ref"].head(1200).copy(), world["same"].head(1200).copy()
    ref["busy"], cur["busy"] = (ref["cnt"] > 100).astype(int), 1  # a week of only busy hours
    ref["prediction"] = (ref["prediction"] > 100).astype(float)
    result = drift.compute(
        ref,
        cur,
        features=FEATURES,
        target="busy",
        task="classification",
        labelled=cur.assign(prediction=0.9),
    )
    quality = result.summary["quality"]
    assert quality["accuracy"] == 1.0 and quality["roc_auc"] == 0.5  # undefined: the 0.5 floor
    assert "quality.html" not in result.artifacts  # Evidently cannot run on a single class


def test_unscored_rows_give_no_prediction_drift(world: dict) -> None:
    ref, cur = world["ref"].head(1200), world["same"].head(1200)
    unscored = pd.Series(np.nan, index=cur.index)  # the monitor passes NaN where none scored
    kwargs = {"features": FEATURES, "target": "cnt", "task": "regression", "max_columns": 2}
    s = drift.compute(ref, cur, current_predictions=unscored, **kwargs).summary
    assert s["prediction_drift"] is None and s["columns_compared"] == FEATURES[:2]
    zeros = pd.Series(0.0, index=cur.index)  # a model predicting 0 everywhere has drifted
    flat = drift.compute(ref, cur, current_predictions=zeros, **kwargs).summary
    assert flat["prediction_drift"]["drifted"] is True
