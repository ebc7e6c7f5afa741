"""Calibrated drift thresholds: the false-alarm rate they promise, detection, cycles, Evidently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airloop.core.monitor import calibration as cal

COLUMNS = ["a", "b", "c"]


def _days(
    rng: np.random.Generator,
    n_days: int,
    *,
    shift_from: int | None = None,
    weekday_effect: float = 0.0,
    rows: int = 24,
    shift: float = 1.5,
) -> pd.DataFrame:
    """Stationary daily data: each day has its own level (weather-like), hours and weekdays
    have cycles; from ``shift_from`` on, ``a`` and ``b`` move by ``shift`` (their spread ~1.1)."""
    frames = []
    for d in range(n_days):
        level = rng.normal(0, 0.5, size=3)
        hour = np.arange(rows)
        weekday = d % 7
        base = np.sin(hour / rows * 2 * np.pi)[:, None] + weekday_effect * (weekday >= 5)
        values = base + level + rng.normal(0, 1, size=(rows, 3))
        if shift_from is not None and d >= shift_from:
            values[:, :2] += shift
        frame = pd.DataFrame(values, columns=COLUMNS)
        frames.append(frame.assign(day=d, hr=hour, weekday=weekday))
    return pd.concat(frames, ignore_index=True)


def _calibrate(
    frame: pd.DataFrame,
    window: int = 7,
    calendar: tuple[str, ...] = (),
    target: float = 1.0,
    share: float = 0.5,
) -> cal.Calibration:
    return cal.calibrate(
        frame, day_column="day", columns=COLUMNS, categorical=[], methods={},
        window_days=window, sample_rows=5000, reference_rows=5000, drift_share=share,
        false_alarms_per_90_days=target, calendar=calendar, resamples=100, seed=1,
    )  # fmt: skip


def _drifting_days(
    found: cal.Calibration,
    train: pd.DataFrame,
    later: pd.DataFrame,
    window: int,
    share: float = 0.5,
    calendar: tuple[str, ...] = (),
) -> list[int]:
    """Days of ``later`` whose window drifts as monitoring would judge it."""
    flagged = []
    for day in sorted(later["day"].unique())[window - 1 :]:
        current = later[(later["day"] > day - window) & (later["day"] <= day)]
        ref = train.iloc[cal.matched_positions(train, current, calendar, 5000, 0)]
        exceed = sum(
            cal.statistic("wasserstein", ref[c].to_numpy(), current[c].to_numpy(), False)
            >= found.thresholds[c]
            for c in COLUMNS
        )
        if exceed / len(COLUMNS) >= share:
            flagged.append(int(day))
    return flagged


def test_calm_data_drifts_at_most_at_the_target_rate_over_many_seeds() -> None:
    """Target 1 false alarm per 90 days; tolerance: the measured rate over 20 seeds × 90 calm
    days is at most 1.5× the target (the Markov bound makes it conservative by design) and the
    thresholds are not vacuous (a 1.5-spread shift still trips them, next test)."""
    alarms, days = 0, 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        data = _days(rng, 42 + 96)
        train, later = data[data["day"] < 42], data[data["day"] >= 42]
        found = _calibrate(train)
        flagged = _drifting_days(found, train, later, 7)
        alarms += len(flagged)
        days += later["day"].nunique() - 6
    rate_per_90 = alarms / days * 90
    assert rate_per_90 <= 1.5, f"{alarms} drifted days in {days} calm days ({rate_per_90:.2f}/90)"


@pytest.mark.parametrize(("shift", "delay"), [(1.5, 4), (2.5, 2)])
def test_a_known_shift_is_detected_within_the_stated_delay(shift: float, delay: int) -> None:
    """Days from the change to the first drifting day, with a 7-day window (the policy's
    persistence adds its k-1 days on top)."""
    delays = []
    for seed in range(5):
        data = _days(np.random.default_rng(seed), 42 + 30, shift_from=42 + 10, shift=shift)
        train, later = data[data["day"] < 42], data[data["day"] >= 42]
        flagged = [d for d in _drifting_days(_calibrate(train), train, later, 7) if d >= 52]
        assert flagged, f"seed {seed}: the shift at day 52 was never detected"
        delays.append(flagged[0] - 52)
    assert max(delays) <= delay, delays


def test_cycles_alone_do_not_trigger_when_compared_like_with_like() -> None:
    """Weekends sit 3 spreads higher; 2-day windows are all-weekend or all-weekday. Matched on
    ``weekday`` the calm data drifts at the target rate at most; the same thresholds without
    matching do flag the weekends (the test can fail). Calibrating unmatched also avoids the
    alarms, but only with thresholds so high that a real shift would hide under them."""
    rng = np.random.default_rng(3)
    data = _days(rng, 42 + 60, weekday_effect=3.0)
    train, later = data[data["day"] < 42], data[data["day"] >= 42]
    matched = _calibrate(train, window=2, calendar=("weekday",))
    like_with_like = _drifting_days(matched, train, later, 2, calendar=("weekday",))
    assert len(like_with_like) <= 1, like_with_like  # the target: 1 in 90 days
    assert len(_drifting_days(matched, train, later, 2)) >= 10
    plain = _calibrate(train, window=2)
    assert max(matched.thresholds.values()) < 0.6 * min(plain.thresholds.values())


def test_statistics_are_the_numbers_evidently_reports() -> None:
    pytest.importorskip("evidently")
    from airloop.core.monitor import drift

    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 600), "k": rng.integers(0, 4, 600)})
    current = pd.DataFrame({"x": rng.normal(0.3, 1.2, 300), "k": rng.integers(0, 5, 300)})
    for method in cal.METHODS:
        stattests = {"num_method": method, "cat_method": "jensenshannon"}  # wasserstein: num
        found = drift.compute(
            reference, current, features=["x", "k"], target="y", task="regression",
            categorical=["k"], stattests=stattests,
        )  # fmt: skip
        for column, used in (("x", method), ("k", "jensenshannon")):
            ours = cal.statistic(used, reference[column].to_numpy(),
                                 current[column].to_numpy(), column == "k")  # fmt: skip
            theirs = found.summary["columns"][column]["score"]
            assert ours == pytest.approx(theirs, rel=1e-4), (method, column)


def test_too_short_a_window_is_calibrated_on_shorter_blocks_and_says_so() -> None:
    data = _days(np.random.default_rng(0), 10)
    found = _calibrate(data, window=7)
    assert found.block_days == 5 and "optimistic" in found.notes[0]
    with pytest.raises(ValueError, match="lacks columns"):
        cal.calibrate(data, day_column="day", columns=["nope"], categorical=[], methods={},
                      window_days=7, sample_rows=100, reference_rows=100, drift_share=0.5,
                      false_alarms_per_90_days=1)  # fmt: skip


def test_hand_set_thresholds_beat_calibration_which_beats_stattests() -> None:
    from pathlib import Path

    from airloop.core.monitor import thresholds
    from airloop.spec import load_spec_file

    spec = load_spec_file(Path(__file__).parents[2] / "include/pipelines/bike_demand.yaml")
    mon = spec.monitoring.model_copy(update={"thresholds": {"temp": 0.7},
                                             "stattests": {"num_threshold": 0.3}})  # fmt: skip
    spec = spec.model_copy(update={"monitoring": mon})
    found = cal.Calibration(
        thresholds={"temp": 9.0, "hum": 1.25}, methods={}, null_quantiles={},
        false_alarms_per_90_days=1.0, column_alpha=0.01, day_alpha=0.01, resamples=10,
        window_days=7, block_days=7, current_rows=1, reference_rows=1, calendar=[],
        days=["2011-01-01", "2011-02-11"], seconds=0.0, notes=[],
    )  # fmt: skip
    resolved = thresholds.resolve(spec, found)
    assert resolved["temp"] == (0.7, "spec: monitoring.thresholds")
    assert (
        resolved["hum"][0] == 1.25 and "calibrated on 2011-01-01..2011-02-11" in resolved["hum"][1]
    )
    assert resolved["windspeed"] == (0.3, "spec: monitoring.stattests")
    assert resolved["weathersit"] == (None, "Evidently's default")


def test_a_spec_asking_to_calibrate_an_uncalibratable_test_is_refused() -> None:
    from pydantic import ValidationError

    from airloop.spec import MonitoringSpec

    with pytest.raises(ValidationError, match="cannot be calibrated"):
        MonitoringSpec(false_alarms_per_90_days=1, stattests={"num_method": "ks"})
