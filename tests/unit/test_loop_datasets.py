"""bench/loop_datasets.py: every real data set loads offline with the promised shape."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from _support import HOUR_CSV, REPO


def _load_module() -> ModuleType:
    name = "bench_loop_datasets"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "loop_datasets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


ld = _load_module()
# The packaged data sets are in the dev lock, so they must load; the bike data is in shared/.
PACKAGED = ["seattle_weather", "trump_approval"]


@pytest.fixture(scope="module", params=[*PACKAGED, "bike_uci"])
def dataset(request: pytest.FixtureRequest):  # -> ld.LoopDataset
    if request.param == "bike_uci" and not HOUR_CSV.exists():
        pytest.skip(f"real dataset not available at {HOUR_CSV}")
    loaded = ld.LOADERS[request.param]()
    assert loaded is not None, f"{request.param}: its data file is not installed"
    assert loaded.name == request.param
    return loaded


def test_frame_has_the_promised_columns(dataset) -> None:
    frame: pd.DataFrame = dataset.frame
    assert len(frame) > 0
    assert list(frame.columns) == ["day", *dataset.features, dataset.target]
    assert len(set(dataset.features)) == len(dataset.features)
    assert dataset.target not in dataset.features
    assert set(dataset.categorical) <= set(dataset.features)
    assert set(dataset.calendar) <= set(dataset.features)
    assert dataset.citation and "licen" in dataset.citation.lower()


def test_days_are_dates_sorted_and_span_a_year(dataset) -> None:
    days = dataset.frame["day"]
    assert all(type(d) is dt.date for d in days)  # not datetime / Timestamp
    assert days.is_monotonic_increasing
    assert days.nunique() >= 365
    assert dataset.days == days.nunique()
    per_day = days.groupby(days).size()
    assert dataset.rows_per_day == pytest.approx(float(per_day.median()))
    assert dataset.rows_per_day >= 1


def test_targets_present_and_typed_for_the_task(dataset) -> None:
    frame: pd.DataFrame = dataset.frame
    target = frame[dataset.target]
    assert target.notna().all()
    assert dataset.task in ("regression", "classification")
    if dataset.task == "regression":
        assert pd.api.types.is_numeric_dtype(target)
        assert target.nunique() > 20
    else:
        assert 2 <= target.nunique() <= 20
        assert target.value_counts().min() >= 10  # every class can be learnt and scored
    for column in dataset.features:
        assert pd.api.types.is_numeric_dtype(frame[column]), column
        assert frame[column].notna().mean() > 0.95, column


def test_bike_uci_keeps_hours_drops_leakage_and_is_none_when_absent(tmp_path: Path) -> None:
    assert ld.bike_uci(tmp_path) is None
    if not HOUR_CSV.exists():
        pytest.skip(f"real dataset not available at {HOUR_CSV}")
    bike = ld.bike_uci(HOUR_CSV.parent)
    assert bike is not None and bike.target == "cnt" and len(bike.frame) == 17_379
    assert not {"casual", "registered", "instant", "dteday"} & set(bike.frame.columns)
    assert "hr" in bike.features and "hr" in bike.calendar and bike.rows_per_day == 24
    assert not bike.frame.duplicated(["day", "hr"]).any()
    assert (bike.frame.groupby("day")["hr"].apply(lambda h: h.is_monotonic_increasing)).all()


def test_seattle_weather_is_the_multiclass_one() -> None:
    weather = ld.seattle_weather()
    assert weather is not None
    assert set(weather.frame["weather"]) == {"sun", "fog", "rain", "drizzle", "snow"}
    assert weather.frame["day"].iloc[0] == dt.date(2012, 1, 1)
    assert weather.frame["day"].iloc[-1] == dt.date(2015, 12, 31)


def test_available_lists_every_loadable_dataset_once() -> None:
    names = [d.name for d in ld.available()]
    assert len(names) == len(set(names))
    assert set(PACKAGED) <= set(names)
    assert ("bike_uci" in names) == HOUR_CSV.exists()
    first = ld.available()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "other"
