"""The bad-input corpus: every kind of broken batch, built from one good day.

Each case: raw bytes, file suffix, the expected ingest status (``partial`` = failing rows
quarantined, the rest published; ``quarantined`` = whole batch rejected) and a text the
failure message must contain (naming the failed check).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

GOOD_DAY = date(2012, 6, 5)


@dataclass(frozen=True)
class Case:
    data: bytes
    suffix: str
    status: str
    message: str


def good_frame() -> pd.DataFrame:
    from airloop.core.simulators.simulator import simulate_day

    return simulate_day(GOOD_DAY, seed=7, missing_hour_rate=0.0)


def _csv(frame: pd.DataFrame, **kw: object) -> bytes:
    return frame.to_csv(index=False, **kw).encode()


def _with(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    out = frame.copy()
    if not isinstance(value, str | float) or (isinstance(value, float) and np.isnan(value)):
        out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


def build() -> dict[str, Case]:
    g = good_frame()
    good_csv = _csv(g)
    parquet = io.BytesIO()
    g.to_parquet(parquet, index=False)
    text_temp = g.copy()
    text_temp["temp"] = "warm"
    null_cnt = g.copy()
    null_cnt["cnt"] = null_cnt["cnt"].astype("float64")
    null_cnt.loc[4, "cnt"] = np.nan
    many_bad = g.copy()
    many_bad.loc[0:5, "hum"] = 3.0
    return {
        "missing_column": Case(
            _csv(g.drop(columns=["hum"])),
            ".csv",
            "quarantined",
            "expect_table_columns_to_match_set",
        ),
        "renamed_column": Case(
            _csv(g.rename(columns={"cnt": "count"})),
            ".csv",
            "quarantined",
            "expect_table_columns_to_match_set",
        ),
        "extra_column": Case(
            _csv(g.assign(station="A")), ".csv", "quarantined", "expect_table_columns_to_match_set"
        ),
        "wrong_type": Case(
            _csv(text_temp), ".csv", "quarantined", "temp: expect_column_values_to_be_in_type_list"
        ),
        "null_in_float": Case(
            _csv(_with(g, 3, "hum", float("nan"))),
            ".csv",
            "partial",
            "hum: expect_column_values_to_not_be_null",
        ),
        "null_in_integer": Case(
            _csv(null_cnt), ".csv", "quarantined", "cnt: expect_column_values_to_be_in_type_list"
        ),
        "out_of_range": Case(
            _csv(_with(g, 2, "hum", 1.7)),
            ".csv",
            "partial",
            "hum: expect_column_values_to_be_between",
        ),
        "invalid_code": Case(
            _csv(_with(g, 5, "weathersit", 7)),
            ".csv",
            "partial",
            "weathersit: expect_column_values_to_be_in_set",
        ),
        "inconsistent_season": Case(
            _csv(_with(g, 6, "season", 1)),
            ".csv",
            "partial",
            "season,mnth: expect_column_pair_values_to_be_in_set",
        ),
        "duplicate_keys": Case(
            _csv(pd.concat([g, g.iloc[[3]]])),
            ".csv",
            "quarantined",
            "expect_compound_columns_to_be_unique",
        ),
        "zero_bytes": Case(b"", ".csv", "quarantined", "empty (0 bytes)"),
        "header_only": Case(
            good_csv.split(b"\n")[0] + b"\n",
            ".csv",
            "quarantined",
            "expect_table_row_count_to_be_between",
        ),
        "truncated_csv": Case(
            good_csv[: len(good_csv) // 2],
            ".csv",
            "quarantined",
            "expect_column_values_to_be_in_type_list",
        ),
        "truncated_parquet": Case(
            parquet.getvalue()[:300], ".parquet", "quarantined", "unreadable Parquet"
        ),
        "binary": Case(bytes(range(256)) * 8, ".csv", "quarantined", "binary content"),
        "json": Case(
            json.dumps(g.to_dict(orient="records")).encode(),
            ".csv",
            "quarantined",
            "looks like JSON",
        ),
        "semicolon_delimited": Case(_csv(g, sep=";"), ".csv", "quarantined", "';' as delimiter"),
        "non_finite": Case(
            _csv(_with(g, 1, "temp", float("inf"))),
            ".csv",
            "partial",
            "temp: expect_column_values_to_be_between",
        ),
        "absurd_magnitude": Case(
            _csv(_with(g, 8, "windspeed", 1e300)),
            ".csv",
            "partial",
            "windspeed: expect_column_values_to_be_between",
        ),
        "absurd_count": Case(
            _csv(_with(g, 9, "cnt", 10**12)),
            ".csv",
            "partial",
            "cnt: expect_column_values_to_be_between",
        ),
        "too_many_failing_rows": Case(
            _csv(many_bad), ".csv", "quarantined", "rows fail row-level checks"
        ),
    }
