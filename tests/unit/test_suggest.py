"""suggest-suite: a starter suite inferred from data passes that data and rejects corruption."""

from __future__ import annotations

import numpy as np
import pytest

from _support import HOUR_CSV
from airloop.core.authoring import suggest
from airloop.core.data import validation
from airloop.core.simulators.simulator import simulate_range


@pytest.fixture
def reference():
    from datetime import date

    import pandas as pd

    if HOUR_CSV.exists():
        return pd.read_csv(HOUR_CSV).head(2000)
    return simulate_range(date(2011, 1, 1), 90, seed=2)


def test_suggested_suite_passes_its_data_and_rejects_a_corrupted_copy(isolated_state, reference):
    exps = suggest.suggest_expectations(reference, source="hour.csv")
    types = {e["type"] for e in exps}
    assert {
        "expect_table_columns_to_match_set",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
    } <= types
    path = validation.save_suite("suggested.raw", exps, notes="test")
    assert path.endswith("expectations/suggested/raw.json")

    ok = validation.validate_frame(reference, "suggested.raw", "ref")
    assert ok.success, ok.summary()

    corrupted = reference.copy()
    corrupted.loc[3, "weathersit"] = 9  # an unseen code
    corrupted.loc[5, "temp"] = 5.0  # far outside the observed range
    corrupted.loc[7, "hum"] = np.nan  # a null where none were seen
    bad = validation.validate_frame(corrupted, "suggested.raw", "bad", 1.0)
    assert sorted(bad.row_reasons) == [3, 5, 7]
    renamed = validation.validate_frame(
        reference.rename(columns={"cnt": "count"}), "suggested.raw", "renamed"
    )
    assert renamed.batch_failed


def test_candidate_keys_and_codes_are_inferred(reference) -> None:
    keys = suggest.candidate_keys(reference)
    assert ["instant"] in keys
    exps = {
        (e["type"], e["kwargs"].get("column")): e for e in suggest.suggest_expectations(reference)
    }
    season = exps[("expect_column_values_to_be_in_set", "season")]
    assert season["kwargs"]["value_set"] == sorted(reference["season"].unique().tolist())
    assert ("expect_column_values_to_match_strftime_format", "dteday") in exps
    hum = exps[("expect_column_values_to_be_between", "hum")]["kwargs"]
    assert hum["min_value"] >= 0 and hum["max_value"] <= 1  # shares stay within [0, 1]


def test_an_existing_suite_is_not_overwritten_without_replace(isolated_state, reference) -> None:
    exps = suggest.suggest_expectations(reference)
    path = validation.save_suite("bike_demand.raw", exps)
    assert "uncommitted/suggested/bike_demand.raw.json" in path
    assert len(validation.get_context().suites.get("bike_demand.raw").expectations) >= 50
