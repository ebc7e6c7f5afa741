"""bike_demand's calendar columns must follow from ``dteday``: the suite checks each row.

``yr``, ``mnth``, ``season``, ``weekday``, ``holiday`` and ``workingday`` are codes of the date
(``expect_column_pair_values_a_to_be_calendar_part_of_b``, a row-level expectation): the real
UCI data passes them all, and a row that disagrees is quarantined with the column named.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from _support import HOUR_CSV
from airloop.core.data import ingest, readers, validation
from airloop.core.data.lake import Lake
from airloop.core.data.vectorised_checks import calendar_part
from airloop.core.simulators import calendar
from airloop.spec import load_pipeline

CALENDAR = "expect_column_pair_values_a_to_be_calendar_part_of_b"
PARTS = {"yr": ("year_since", 2011), "mnth": ("month", 0), "season": ("season", 0),
         "weekday": ("weekday", 0), "holiday": ("holiday", 0),
         "workingday": ("workingday", 0)}  # fmt: skip
REAL = pytest.mark.skipif(
    not HOUR_CSV.is_file(),
    reason=f"the real UCI Bike Sharing data is not at {HOUR_CSV} (shared/ beside the clone)",
)


@REAL
def test_our_calendar_agrees_with_the_real_data_on_every_day() -> None:
    days = pd.read_csv(HOUR_CSV).drop_duplicates("dteday").reset_index(drop=True)
    assert len(days) == 731  # 2011-01-01 .. 2012-12-31
    dates = [dt.date.fromisoformat(d) for d in days["dteday"]]
    holidays = {d for d, h in zip(dates, days["holiday"], strict=True) if h == 1}
    assert {d for d in dates if calendar.is_holiday(d)} == holidays
    # 10 in 2011 (New Year's Day fell on a Saturday: observed 2010-12-31), 11 in 2012.
    assert len(holidays) == 21
    for column, (part, base) in PARTS.items():
        expected = calendar_part(days["dteday"], part, base)
        wrong = days.loc[expected != days[column], ["dteday", column]]
        assert wrong.empty, (column, wrong.head())


@REAL
def test_the_real_data_passes_every_calendar_check(isolated_state) -> None:
    real = pd.read_csv(HOUR_CSV)
    outcome = validation.validate_frame(real, "bike_demand.raw", "real-data")
    checks = [c for c in outcome.checks if c.expectation == CALENDAR]
    assert sorted(c.column for c in checks) == sorted(PARTS)
    assert all(c.success for c in checks), [c for c in checks if not c.success]
    assert outcome.row_reasons == {}  # no row of the real data fails any row-level check


def test_rows_whose_calendar_columns_contradict_the_date_are_quarantined(
    isolated_state, tmp_path
) -> None:
    from airloop.core.simulators.simulator import simulate_day

    day = dt.date(2012, 7, 4)  # a Wednesday, a holiday, in summer
    frame = simulate_day(day, seed=7, missing_hour_rate=0.0)
    wrong = {2: ("weekday", 5), 5: ("yr", 0), 9: ("mnth", 8), 14: ("season", 2),
             20: ("holiday", 0)}  # fmt: skip
    for row, (column, value) in wrong.items():
        frame.loc[row, column] = value
    spec, lake = load_pipeline("bike_demand"), Lake(tmp_path / "lake", "bike_demand")
    # Five bad rows of 24 are past the spec's 10 %, which would reject the batch whole.
    lenient = spec.validation.model_copy(update={"max_failing_fraction": 0.5})
    spec = spec.model_copy(update={"validation": lenient})
    landed = lake.land_raw(day, readers.to_bytes(frame, "csv"), ".csv")
    summary = ingest.validate_raw(lake, spec, day, landed)
    assert summary["status"] == "partial", summary
    ingest.quarantine(lake, spec, day, landed, "run-1")
    ingest.publish_validated(lake, spec, day, landed, "run-1")

    (_, manifest), = lake.quarantine_entries(day)  # fmt: skip
    kept = lake.read("quarantine", day, f"raw={landed['digest'][:16]}")
    assert manifest["scope"] == "rows" and len(kept) == len(wrong)
    for (row, (column, value)), reasons in zip(wrong.items(), kept[ingest.REASONS], strict=True):
        assert f"{column},dteday: {CALENDAR}" in reasons, (row, reasons)
        assert str(kept.loc[kept["hr"] == str(row), column].item()) == str(value)
    # The season row also breaks the (season, mnth) pair; every other row was published.
    assert "season,mnth: expect_column_pair_values_to_be_in_set" in kept[ingest.REASONS].iloc[3]
    assert len(lake.read("validated", day)) == len(frame) - len(wrong)
