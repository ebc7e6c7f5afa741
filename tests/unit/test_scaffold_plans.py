"""The waits `airloop new-pipeline` plans hold for files of many shapes.

Each file is scaffolded, then its days are replayed as its source cuts them into validated
partitions, and on the day the drift policy asks for the first model (``initial_min_days``
validated days) the core training code must train on the window the request names, with at
least ``min_rows`` labelled training rows and a holdout of at least 30. No Airflow: the loop's
DAG runs do this same work, slowly (tests/dags/test_new_pipeline_*.py run them).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from airloop.core.authoring.scaffold_plan import HOLDOUT_ROWS
from airloop.core.data import readers, sources, validation
from airloop.core.model import training
from airloop.project import open_pipeline

STOCKS = (
    Path(np.__file__).parents[1] / "matplotlib" / "mpl-data" / "sample_data" / "Stocks.csv"
)  # monthly closes 1990-2022 (Yahoo Finance), shipped with matplotlib; a quarter of rows empty


# 30 days from Friday 2024-03-01: 37 rows a weekday, 22 a weekend day.
WEEKLY = np.where(pd.date_range("2024-03-01", periods=30).dayofweek >= 5, 22, 37)


# The new-pipeline call as test_scaffold makes it (the ``project`` fixture is in conftest.py).
from test_scaffold import _new  # noqa: E402


def _daily(
    path: Path, counts: np.ndarray, *, task: str = "regression", seed: int = 0,
    hourly: bool = False, extra_columns: int = 0, text_labels: bool = False,
    null_share: float = 0.0,
) -> Path:  # fmt: skip
    """``counts[i]`` rows on day i from 2024-03-01: features x1, x2, shop (+ m00…), target y."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-03-01", periods=len(counts), freq="D")
    when = pd.DatetimeIndex(np.repeat(days.values, counts))
    n = len(when)
    if hourly:  # the time column is a timestamp, not a date
        when = when + pd.to_timedelta(rng.integers(0, 24 * 60, n), unit="min")
    frame = pd.DataFrame({
        "when": when.strftime("%Y-%m-%d %H:%M:%S" if hourly else "%Y-%m-%d"),
        "x1": rng.normal(0, 1, n).round(3), "x2": rng.uniform(0, 10, n).round(2),
        "shop": rng.choice(["north", "south", "east"], n),
    })  # fmt: skip
    for i in range(extra_columns):
        frame[f"m{i:02d}"] = rng.normal(0, 1, n).round(3)
    signal = 2 * frame["x1"] + 0.4 * frame["x2"] + np.where(frame["shop"] == "east", 1.5, 0)
    if task == "regression":
        frame["y"] = (signal + rng.normal(0, 1, n)).round(3)
    else:
        hit = rng.random(n) < 1 / (1 + np.exp(-(signal - 3)))
        frame["y"] = np.where(hit, "churned", "stayed") if text_labels else hit.astype(int)
    for col in ("x2", "shop") if null_share else ():
        frame.loc[rng.random(n) < null_share, col] = np.nan
    frame.to_csv(path, index=False)
    return path


def _replay_to_first_model(name: str, data: Path) -> dict:
    """Publish the file's days as its source delivers them until the policy would ask for the
    first model; train there as the train DAG would. Returns what happened."""
    pipeline = open_pipeline(name)
    spec, lake = pipeline.spec, pipeline.lake
    delivered = readers.read_table(data.read_bytes(), data.name, spec.source.delimiter).frame
    if spec.source.row_id:
        delivered = delivered.assign(**{spec.source.row_id: range(len(delivered))})
    # The suite passes every row of the file, so validation would publish each day whole.
    outcome = validation.validate_frame(delivered, spec.suite_name, "whole-file")
    assert outcome.success, outcome.summary()["failed_checks"]
    if spec.time_column:
        stamps = pd.to_datetime(delivered[spec.time_column], format="mixed")
        days = sorted(stamps.dt.date.unique())
    else:
        chunks = -(-len(delivered) // spec.source.chunk_rows)
        days = [spec.start_date + timedelta(days=i) for i in range(chunks)]
    policy = spec.monitoring.policy
    for replayed, day in enumerate(days, start=1):
        batch = sources.acquire(spec, day, Path)
        frame = readers.read_table(batch.data, "day" + batch.suffix, spec.source.delimiter).frame
        assert frame is not None and len(frame), f"{name}: no rows on {day}"
        lake.publish("validated", day, frame, {"replayed": True})
        if replayed == policy.initial_min_days:  # the drift policy's first request
            size = policy.retrain_window_days or spec.training.window_days
            data_ = training.load_window(lake, spec, day, size)
            model = training.fit(spec, data_)
            assert len(training.predict(model, spec, data_.holdout)) == len(data_.holdout)
            return {
                "day": day, "spec": spec,
                "train": int(data_.train[spec.target].notna().sum()),
                "holdout": int(data_.holdout[spec.target].notna().sum()),
            }  # fmt: skip
    raise AssertionError(f"{name}: {len(days)} days, the plan waits {policy.initial_min_days}")


def _shapes(folder: Path) -> dict[str, tuple[Path, str, list[str]]]:
    """Name → (file, task, extra new-pipeline arguments)."""
    rng = np.random.default_rng(7)
    timed = ["--time-column", "when"]
    return {
        # The reported file's shape: 34 rows a day by median, fewer at weekends. The old plan
        # (200 / 34 + a 1-day holdout = 7 days) met 192 training rows on day 7.
        "thin_days": (_daily(folder / "thin.csv", rng.poisson(WEEKLY)), "regression", timed),
        "one_a_day": (_daily(folder / "one.csv", np.ones(150, int)), "regression", timed),
        "wide": (_daily(folder / "wide.csv", rng.poisson(60, 20), task="classification",
                        extra_columns=56), "classification", timed),
        "hourly": (_daily(folder / "hourly.csv", rng.poisson(24, 30), hourly=True),
                   "regression", timed),
        "text_labels": (_daily(folder / "text.csv", rng.poisson(50, 30), task="classification",
                               text_labels=True), "classification", timed),
        "nulls": (_daily(folder / "nulls.csv", rng.poisson(50, 30), task="classification",
                         null_share=0.3), "classification", timed),
        "chunks": (_daily(folder / "chunks.csv", np.full(1, 1200)), "regression", []),
    }  # fmt: skip


@pytest.mark.parametrize(
    "shape", ["thin_days", "one_a_day", "wide", "hourly", "text_labels", "nulls", "chunks"]
)
def test_the_first_model_trains_on_the_day_the_plan_says(
    project: Path, tmp_path: Path, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data, task, extra = _shapes(tmp_path)[shape]
    assert _new(shape, data, "y", task, *extra) == 0
    out = capsys.readouterr().out
    spec_file = project / "include" / "pipelines" / f"{shape}.yaml"
    initial = yaml.safe_load(spec_file.read_text())["monitoring"]["policy"]["initial_min_days"]
    assert f"first model after {initial} validated days" in out
    assert "WARNING" not in out  # every file holds the days its plan needs

    first = _replay_to_first_model(shape, data)
    assert first["train"] >= first["spec"].training.min_rows, first
    assert first["holdout"] >= HOLDOUT_ROWS, first
    assert f"--days {max(10, initial + 2)}" in out  # the run it suggests reaches that model


def test_labelled_rows_are_planned_and_too_sparse_a_file_is_refused_with_the_reason(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not STOCKS.is_file():
        pytest.skip(f"{STOCKS} is absent (matplotlib's sample data)")
    # One row a date, a date a month or so, a quarter of the rows empty: the data days the
    # first model needs span ~10 years, beyond any training window.
    stocks = pd.read_csv(STOCKS, comment="#")
    stocks.to_csv(tmp_path / "stocks.csv", index=False)
    assert (
        _new("stocks", tmp_path / "stocks.csv", "IBM", "regression", "--time-column", "Date") == 2
    )
    err = capsys.readouterr().err
    # 164, not 120: a quarter of the days have no label, so a stretch holds fewer rows.
    assert "stocks.csv: the first model needs 164 days of data" in err
    assert "more than the longest training window (3650 days)" in err
    assert not (project / "include" / "pipelines" / "stocks.yaml").exists()

    # The same rows a day apart: planned on labelled rows (the empty ones do not count).
    days = pd.date_range("2024-01-01", periods=len(stocks), freq="D")
    daily = stocks.assign(Date=days.strftime("%Y-%m-%d"))
    daily.to_csv(tmp_path / "daily.csv", index=False)
    assert _new("daily", tmp_path / "daily.csv", "IBM", "regression", "--time-column", "Date") == 0
    first = _replay_to_first_model("daily", tmp_path / "daily.csv")
    assert first["train"] >= first["spec"].training.min_rows, first
    assert first["holdout"] >= HOLDOUT_ROWS, first


def test_a_time_column_of_dates_and_timestamps_cuts_the_days_the_scaffold_counted(
    tmp_path: Path,
) -> None:
    from airloop.core.authoring import scaffold
    from airloop.spec import PipelineSpec

    # Exports often write midnight as a bare date: pandas' guess from the first value dropped
    # the timestamped rows of a day (NaT) while the scaffold counted them.
    frame = pd.DataFrame(
        {"when": ["2024-03-01", "2024-03-01 13:05:00", "2024-03-02 08:00:00", "2024-03-02"] * 5}
    )
    rng = np.random.default_rng(0)
    frame = frame.assign(x=rng.normal(0, 1, 20).round(3), y=rng.normal(0, 1, 20).round(3))
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    found = scaffold.infer(
        "mixed",
        frame,
        data_path=str(tmp_path / "mixed.csv"),
        fmt="csv",
        delimiter=",",
        target="y",
        task="regression",
        time_column="when",
    )
    spec = PipelineSpec.model_validate(found.spec)
    batch = sources.acquire(spec, date(2024, 3, 1), Path)
    day = readers.read_table(batch.data, "day.csv").frame
    assert len(day) == 10 and day["when"].str.contains("13:05").sum() == 5
