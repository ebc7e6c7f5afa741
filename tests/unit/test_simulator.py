"""The bike-sharing simulator: schema, determinism, calendar, realism, calibration and drift."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from _support import SHARED
from airloop.core.simulators.calendar import us_dc_holidays
from airloop.core.simulators.simulator import (
    COLUMNS,
    DriftScenario,
    simulate_day,
    simulate_range,
)

D = dt.date
REAL_CSV = SHARED / "datasets" / "bike_sharing" / "hour.csv"
FLOATS = ("temp", "atemp", "hum", "windspeed")


@pytest.fixture(scope="module")
def two_years() -> pd.DataFrame:
    """The span of the real dataset, simulated with the calibration seed."""
    return simulate_range(D(2011, 1, 1), 731, seed=0)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    if not REAL_CSV.exists():
        pytest.skip(f"real dataset not available at {REAL_CSV}")
    return pd.read_csv(REAL_CSV)


def _casual_share(frame: pd.DataFrame) -> float:
    return frame.casual.sum() / frame.cnt.sum()


def test_schema_dtypes_ranges_and_codes(two_years: pd.DataFrame) -> None:
    df = two_years
    assert len(COLUMNS) == 17 and tuple(df.columns) == COLUMNS
    assert df.index.equals(pd.RangeIndex(len(df)))
    assert df.dteday.dtype == object and df.dteday.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    for col in set(COLUMNS) - {"dteday", *FLOATS}:
        assert df[col].dtype == np.int64, col
    for col in FLOATS:
        assert df[col].dtype == np.float64 and df[col].between(0, 1).all(), col
    assert set(df.season) == {1, 2, 3, 4} and set(df.yr) == {0, 1}
    assert set(df.mnth) == set(range(1, 13)) and set(df.hr) == set(range(24))
    assert set(df.weekday) == set(range(7)) and set(df.holiday) == set(df.workingday) == {0, 1}
    assert {1, 2, 3} <= set(df.weathersit) <= {1, 2, 3, 4}
    assert (df.casual >= 0).all() and (df.registered >= 0).all()
    assert (df.cnt == df.casual + df.registered).all()
    dates = pd.to_datetime(df.dteday)
    assert (dates.dt.month == df.mnth).all() and (dates.dt.year - 2011 == df.yr).all()


def test_empty_range_keeps_the_schema(two_years: pd.DataFrame) -> None:
    empty = simulate_range(D(2012, 1, 1), 0)
    assert empty.empty and tuple(empty.columns) == COLUMNS
    assert empty.dtypes.equals(two_years.dtypes)


def test_deterministic_independent_of_neighbours_and_seed_sensitive() -> None:
    day = D(2012, 5, 17)
    alone = simulate_day(day, seed=7)
    pd.testing.assert_frame_equal(alone, simulate_day(day, seed=7))
    span = simulate_range(D(2012, 5, 10), 14, seed=7)
    days = [simulate_day(D(2012, 5, 10) + dt.timedelta(i), seed=7) for i in range(14)]
    pd.testing.assert_frame_equal(span, pd.concat(days, ignore_index=True))
    pd.testing.assert_frame_equal(span[span.dteday == "2012-05-17"].reset_index(drop=True), alone)

    a = simulate_day(day, seed=7, missing_hour_rate=0)
    b = simulate_day(day, seed=8, missing_hour_rate=0)
    assert (a.cnt != b.cnt).any() and (a.temp != b.temp).any()


def test_instant_is_a_stable_unique_hour_index(two_years: pd.DataFrame) -> None:
    df = two_years
    assert df.instant.is_unique and df.instant.is_monotonic_increasing
    hours = (pd.to_datetime(df.dteday) - pd.Timestamp("2011-01-01")).dt.days * 24 + df.hr + 1
    assert (df.instant == hours).all()
    first = simulate_day(D(2011, 1, 1), missing_hour_rate=0)
    assert first.instant.tolist() == list(range(1, 25))
    later = simulate_day(D(2026, 3, 1), missing_hour_rate=0)
    assert later.instant.iloc[0] == (D(2026, 3, 1) - D(2011, 1, 1)).days * 24 + 1
    assert later.yr.iloc[0] == 15


@pytest.mark.parametrize(
    ("day", "weekday", "holiday", "workingday", "season"),
    [
        (D(2011, 1, 1), 6, 0, 0, 1),  # Saturday; New Year's was observed on Fri 2010-12-31
        (D(2011, 1, 3), 1, 0, 1, 1),
        (D(2011, 4, 15), 5, 1, 0, 2),  # Emancipation Day (Sat 16th) observed on Friday
        (D(2012, 3, 20), 2, 0, 1, 1),
        (D(2012, 3, 21), 3, 0, 1, 2),
        (D(2012, 6, 21), 4, 0, 1, 3),
        (D(2012, 7, 4), 3, 1, 0, 3),
        (D(2012, 9, 22), 6, 0, 0, 3),
        (D(2012, 9, 23), 0, 0, 0, 4),
        (D(2012, 12, 21), 5, 0, 1, 1),
        (D(2026, 11, 26), 4, 1, 0, 4),  # Thanksgiving
    ],
)
def test_calendar_fields(day: dt.date, weekday: int, holiday: int, workingday: int, season: int):
    row = simulate_day(day, missing_hour_rate=0).iloc[0]
    assert row.dteday == day.isoformat() and row.mnth == day.month
    assert (row.weekday, row.holiday, row.workingday, row.season) == (
        weekday,
        holiday,
        workingday,
        season,
    )


def test_us_dc_holidays_are_observed_dates() -> None:
    h2011 = us_dc_holidays(2011)
    assert len(h2011) == 10 and D(2011, 1, 1) not in h2011
    assert D(2011, 4, 15) in h2011 and D(2011, 4, 16) not in h2011
    assert D(2011, 12, 26) in h2011 and D(2011, 12, 25) not in h2011
    assert D(2021, 6, 18) in us_dc_holidays(2021) and D(2020, 6, 19) not in us_dc_holidays(2020)
    assert D(2021, 12, 31) in us_dc_holidays(2021) and D(2022, 1, 1) not in us_dc_holidays(2022)
    assert D(2025, 1, 20) in us_dc_holidays(2025)  # Inauguration Day
    assert D(2017, 1, 20) in us_dc_holidays(2017) and D(2018, 1, 20) not in us_dc_holidays(2018)
    us_dc_holidays(2030).clear()  # callers get their own copy of the cached set
    assert len(us_dc_holidays(2030)) == 12


def test_calendar_matches_the_real_dataset(two_years: pd.DataFrame, real: pd.DataFrame) -> None:
    keys = ["dteday", "season", "yr", "mnth", "holiday", "weekday", "workingday"]
    pd.testing.assert_frame_equal(
        two_years[keys].drop_duplicates().reset_index(drop=True),
        real[keys].drop_duplicates().reset_index(drop=True),
    )
    ours = {d.isoformat() for year in (2011, 2012) for d in us_dc_holidays(year)}
    assert set(real.dteday[real.holiday == 1]) == ours


def test_calibrated_against_the_real_data(two_years: pd.DataFrame, real: pd.DataFrame) -> None:
    assert abs(two_years.cnt.mean() / real.cnt.mean() - 1) < 0.25
    for name, pick in {
        "working day": lambda f: f.workingday == 1,
        "weekend": lambda f: f.weekday.isin([0, 6]),
    }.items():
        sim = two_years[pick(two_years)].groupby("hr").cnt.mean()
        ref = real[pick(real)].groupby("hr").cnt.mean()
        assert np.corrcoef(sim, ref)[0, 1] > 0.9, name
    assert abs(_casual_share(two_years) / _casual_share(real) - 1) < 0.25


def test_demand_follows_calendar_weather_temperature_and_growth(two_years: pd.DataFrame) -> None:
    df = two_years
    working = df[df.workingday == 1].groupby("hr")[["registered", "casual"]].mean()
    assert working.registered.idxmax() in (17, 18)
    assert working.registered[8] > 2 * working.registered[11]  # the morning commute
    weekend = df[df.weekday.isin([0, 6])]
    assert weekend.groupby("hr").cnt.mean().idxmax() in range(11, 17)  # a midday leisure curve
    assert _casual_share(weekend) > 2 * _casual_share(df[df.workingday == 1])

    by_weather = df.groupby("weathersit").cnt.mean()
    assert by_weather[1] > by_weather[2] > 1.3 * by_weather[3]
    midday = df[df.hr.between(10, 16)]
    t_c = midday.temp * 47 - 8
    assert midday[t_c.between(18, 30)].cnt.mean() > 1.5 * midday[t_c < 5].cnt.mean()

    yearly = df.groupby("yr").cnt.mean()
    assert 1.4 < yearly[1] / yearly[0] < 1.9  # ~60 % year-on-year, as in 2011 → 2012
    assert yearly[1] < simulate_range(D(2026, 1, 1), 365).cnt.mean() < 4 * yearly[1]


def test_weather_persists_and_temperature_cycles(two_years: pd.DataFrame) -> None:
    df = two_years
    same_day = df.dteday.to_numpy()[1:] == df.dteday.to_numpy()[:-1]
    ws = df.weathersit.to_numpy()
    assert (ws[1:] == ws[:-1])[same_day].mean() > 0.75
    by_hour = df.groupby("hr").temp.mean()
    assert by_hour[15] - by_hour[5] > 0.08  # afternoon warmer than dawn (~6 °C)
    by_season = df.groupby("season").temp.mean()
    assert by_season[3] > by_season[1] + 0.25
    assert df.groupby("weathersit").hum.mean().is_monotonic_increasing


def test_drift_applies_from_start_only() -> None:
    start = D(2012, 6, 1)
    drift = DriftScenario(start, temp_shift=0.15, humidity_shift=-0.1, demand_multiplier=1.5)
    base = simulate_range(D(2012, 5, 1), 61, seed=3)
    shifted = simulate_range(D(2012, 5, 1), 61, seed=3, drift=drift)
    old, new = base.dteday < start.isoformat(), shifted.dteday < start.isoformat()
    pd.testing.assert_frame_equal(base[old], shifted[new])
    b, s = base[~old], shifted[~new]
    assert b.instant.tolist() == s.instant.tolist()  # same hours present, same weather
    assert b.weathersit.tolist() == s.weathersit.tolist()
    assert 0.1 < s.temp.mean() - b.temp.mean() <= 0.15
    assert s.hum.mean() < b.hum.mean() - 0.07
    assert s.cnt.mean() > 1.2 * b.cnt.mean()


def test_warmer_winter_is_a_covariate_shift_that_raises_demand() -> None:
    drift = DriftScenario(D(2012, 1, 1), temp_shift=0.15)
    base = simulate_range(D(2012, 1, 1), 31, seed=2)
    warm = simulate_range(D(2012, 1, 1), 31, seed=2, drift=drift)
    assert warm.cnt.mean() > 1.1 * base.cnt.mean()


def test_drift_reshapes_commute_and_casual_share() -> None:
    start = D(2012, 4, 1)
    drift = DriftScenario(start, commute_peak_factor=0.4, casual_share_factor=2.0)
    base = simulate_range(start, 28, seed=1, missing_hour_rate=0)
    shifted = simulate_range(start, 28, seed=1, drift=drift, missing_hour_rate=0)
    pd.testing.assert_series_equal(base.temp, shifted.temp)

    def peakiness(frame: pd.DataFrame) -> float:
        hourly = frame[frame.workingday == 1].groupby("hr").registered.mean()
        return hourly[[8, 17, 18]].mean() / hourly[[11, 12, 13, 14]].mean()

    assert peakiness(shifted) < 0.75 * peakiness(base)
    assert _casual_share(shifted) > 1.4 * _casual_share(base)


def test_missing_hours_rate_night_bias_and_never_a_whole_day(two_years: pd.DataFrame) -> None:
    assert 0.005 < 1 - len(two_years) / (731 * 24) < 0.015  # the default 1 %
    df = simulate_range(D(2012, 1, 1), 366, seed=5, missing_hour_rate=0.05)
    assert df.dteday.nunique() == 366
    assert 0.04 < 1 - len(df) / (366 * 24) < 0.06
    present = df.groupby("hr").size() / 366
    assert present[[2, 3, 4, 5]].mean() < present[list(range(10, 20))].mean() - 0.05
    assert len(simulate_range(D(2012, 1, 1), 30, missing_hour_rate=0)) == 30 * 24
    extreme = simulate_range(D(2012, 1, 1), 60, missing_hour_rate=1.0)
    assert extreme.dteday.nunique() == 60 and len(extreme) < 60 * 24 / 2


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        simulate_day(D(2012, 1, 1), seed=-1)
    for rate in (-0.1, 1.5):
        with pytest.raises(ValueError):
            simulate_day(D(2012, 1, 1), missing_hour_rate=rate)
    with pytest.raises(ValueError):
        simulate_range(D(2012, 1, 1), -1)
    with pytest.raises(ValueError):
        DriftScenario(D(2012, 1, 1), demand_multiplier=-1.0)
    assert DriftScenario(dt.datetime(2012, 6, 1, 12)).start == D(2012, 6, 1)


def test_two_years_simulate_every_day_once() -> None:
    # Functional only: how fast it runs is `make bench`'s business, not a test's.
    frame = simulate_range(D(2013, 1, 1), 731, seed=11)
    assert frame.dteday.nunique() == 731
    assert (frame.dteday.min(), frame.dteday.max()) == ("2013-01-01", "2015-01-01")


def test_a_city_scale_day_keeps_the_schema_rules_and_a_unique_key() -> None:
    from airloop.core.data.sources import from_simulator
    from airloop.core.simulators.scaled_simulator import simulate_scaled_day
    from airloop.spec import SimulatorSource

    day = dt.date(2012, 6, 5)
    frame = simulate_scaled_day(day, 5000, seed=3)
    assert len(frame) == 5000 and frame["instant"].is_unique
    assert (frame["cnt"] == frame["casual"] + frame["registered"]).all()
    assert set(frame["dteday"]) == {day.isoformat()} and frame["hr"].between(0, 23).all()
    assert frame.equals(simulate_scaled_day(day, 5000, seed=3))  # deterministic
    next_day = simulate_scaled_day(day + dt.timedelta(days=1), 5000, seed=3)
    assert not set(frame["instant"]) & set(next_day["instant"])  # unique across days too
    batch = from_simulator(SimulatorSource(kind="simulator", seed=3, rows_per_day=5000), day)
    assert batch.data.count(b"\n") == 5001
    with pytest.raises(ValueError, match="rows_per_day must be between"):
        simulate_scaled_day(day, 10, seed=3)
