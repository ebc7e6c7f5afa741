"""Real public data sets with a time column for the loop-quality benchmark (drift-triggered
retraining on real, not simulated, drift). Nothing is downloaded: each file is either in
``shared/`` beside the clone or inside an installed wheel pinned in ``requirements-dev.txt``.

- ``bike_uci``: UCI Bike Sharing, hourly, 2011-2012 (Capital Bikeshare, Washington D.C.), read
  from ``shared/datasets/bike_sharing/hour.csv``. Regression of ``cnt``. Fanaee-T, H. and Gama,
  J. (2013), "Event labeling combining ensemble detectors and background knowledge", Progress in
  Artificial Intelligence, doi:10.1007/s13748-013-0040-3. Licence CC BY 4.0 (UCI ML Repository).
- ``seattle_weather``: ``vega_datasets/_data/seattle-weather.csv`` from the ``vega-datasets``
  wheel (MIT, https://github.com/altair-viz/vega_datasets): daily Seattle weather 2012-2015
  drawn from public-domain NOAA data (https://www.weather.gov/disclaimer). Five-class
  classification of ``weather`` (sun, fog, rain, drizzle, snow). The label comes from NOAA's
  weather-type reports, whose coding changed: wet days are "rain" in 2012 and mostly "fog" from
  2014 on, a real concept drift in the labels (not in the weather).
- ``trump_approval``: ``river/datasets/trump_approval.csv.gz`` from the ``river`` wheel
  (BSD-3-Clause, https://github.com/online-ml/river): FiveThirtyEight's presidential approval
  tracker, daily 2017-03-01 to 2019-11-26, reshaped by river's authors. Data CC BY 4.0
  (https://github.com/fivethirtyeight/data;
  https://projects.fivethirtyeight.com/trump-approval-ratings/).
  Regression of FiveThirtyEight's model average from the latest Gallup, Ipsos, Morning
  Consult, Rasmussen and YouGov figures.

Every loader returns a :class:`LoopDataset` whose ``frame`` has a ``day`` column of
``datetime.date``, the features and the target, sorted by time, or ``None`` when its file is not
on this machine. ``calendar`` names features set by the calendar alone (cycles, holidays): a
monitor should not count their drift.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

import pandas as pd

Task = Literal["regression", "classification"]

#: ``shared/`` lies beside the clone (on a developer's machine and in CI alike).
BIKE_ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "bike_sharing"


@dataclass(frozen=True)
class LoopDataset:
    """One real data set, ready for a day-by-day loop."""

    name: str
    frame: pd.DataFrame
    target: str
    task: Task
    features: list[str]
    categorical: list[str]
    calendar: list[str]
    citation: str
    rows_per_day: float

    @property
    def days(self) -> int:
        """How many distinct days the frame covers."""
        return int(self.frame["day"].nunique())


def _package_file(package: str, relative: str) -> Path | None:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown version"


def _finish(
    name: str,
    frame: pd.DataFrame,
    target: str,
    task: Task,
    features: list[str],
    categorical: list[str],
    calendar: list[str],
    citation: str,
    order: list[str],
) -> LoopDataset:
    """Drop rows without a target, keep day + features + target, sort by ``order``."""
    frame = frame.dropna(subset=[target])
    frame = frame.sort_values(order, kind="stable")[["day", *features, target]]
    frame = frame.reset_index(drop=True)
    rows_per_day = float(frame.groupby("day").size().median())
    return LoopDataset(
        name, frame, target, task, features, categorical, calendar, citation, rows_per_day
    )


def bike_uci(root: Path | None = None) -> LoopDataset | None:
    """UCI Bike Sharing hourly data (17,379 rows, 731 days; some hours are missing)."""
    path = (root if root is not None else BIKE_ROOT) / "hour.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    frame["day"] = pd.to_datetime(frame["dteday"], format="%Y-%m-%d").dt.date
    # As in include/pipelines/bike_demand.yaml; casual + registered = cnt (leakage), instant is
    # a row number and dteday is the day itself.
    features = ["season", "yr", "mnth", "hr", "holiday", "weekday", "workingday", "weathersit"]
    features += ["temp", "atemp", "hum", "windspeed"]
    return _finish(
        "bike_uci",
        frame,
        target="cnt",
        task="regression",
        features=features,
        categorical=["season", "weathersit", "weekday"],
        calendar=["season", "mnth", "hr", "holiday", "weekday", "workingday"],
        citation=(
            "UCI Bike Sharing (hourly), Capital Bikeshare 2011-2012. Fanaee-T, H. and Gama, J. "
            "(2013), Event labeling combining ensemble detectors and background knowledge, "
            "Progress in Artificial Intelligence, doi:10.1007/s13748-013-0040-3. Licence: "
            "CC BY 4.0 (UCI Machine Learning Repository)."
        ),
        order=["day", "hr"],
    )


def seattle_weather() -> LoopDataset | None:
    """Daily Seattle weather 2012-2015 (1,461 days), five-class ``weather`` label."""
    path = _package_file("vega_datasets", "_data/seattle-weather.csv")
    if path is None:
        return None
    frame = pd.read_csv(path)
    date = pd.to_datetime(frame["date"], format="%Y/%m/%d")
    frame["day"] = date.dt.date
    frame["month"] = date.dt.month.astype("int64")
    frame["weather"] = frame["weather"].astype("string")
    return _finish(
        "seattle_weather",
        frame,
        target="weather",
        task="classification",
        features=["precipitation", "temp_max", "temp_min", "wind", "month"],
        categorical=[],
        calendar=["month"],
        citation=(
            f"Seattle weather 2012-2015, vega-datasets {_version('vega-datasets')} "
            "(https://github.com/altair-viz/vega_datasets), from NOAA daily summaries. "
            "Licence: data public domain (https://www.weather.gov/disclaimer); package MIT."
        ),
        order=["day"],
    )


def trump_approval() -> LoopDataset | None:
    """FiveThirtyEight's daily approval average 2017-2019 (1,001 days), from five pollsters."""
    path = _package_file("river", "datasets/trump_approval.csv.gz")
    if path is None:
        return None
    frame = pd.read_csv(path)
    # river's file keeps the day as a proleptic Gregorian ordinal (datetime.date.toordinal).
    frame["day"] = [dt.date.fromordinal(int(o)) for o in frame["ordinal_date"]]
    return _finish(
        "trump_approval",
        frame,
        target="five_thirty_eight",
        task="regression",
        features=["gallup", "ipsos", "morning_consult", "rasmussen", "you_gov"],
        categorical=[],
        calendar=[],
        citation=(
            "Trump approval ratings 2017-2019, FiveThirtyEight "
            "(https://projects.fivethirtyeight.com/trump-approval-ratings/), reshaped and "
            f"shipped by river {_version('river')} (https://github.com/online-ml/river). "
            "Licence: data CC BY 4.0 (https://github.com/fivethirtyeight/data); package "
            "BSD-3-Clause."
        ),
        order=["day"],
    )


LOADERS: dict[str, Callable[[], LoopDataset | None]] = {
    "bike_uci": bike_uci,
    "seattle_weather": seattle_weather,
    "trump_approval": trump_approval,
}


def available() -> list[LoopDataset]:
    """Every data set that can be loaded on this machine, in ``LOADERS`` order."""
    loaded = (load() for load in LOADERS.values())
    return [dataset for dataset in loaded if dataset is not None]


if __name__ == "__main__":
    for ds in available():
        span = f"{ds.frame['day'].iloc[0]}..{ds.frame['day'].iloc[-1]}"
        print(
            f"{ds.name}: {len(ds.frame)} rows, {ds.days} days ({span}), "
            f"{ds.rows_per_day:g}/day, {ds.task} of {ds.target}"
        )
