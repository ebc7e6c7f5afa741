"""Real Great Expectations on the bike_demand.raw suite: bad inputs fail clearly, real days pass."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

import corpus
from _support import HOUR_CSV
from airloop.core.data import ingest, lake, readers, validation
from airloop.spec import load_pipeline

CASES = corpus.build()


@pytest.fixture
def spec():
    return load_pipeline("bike_demand")


def _ingest_check(tmp_path, spec, case: corpus.Case) -> tuple[dict, lake.Lake]:
    the_lake = lake.Lake(tmp_path / "lake", spec.name)
    landed = the_lake.land_raw(corpus.GOOD_DAY, case.data, case.suffix)
    return ingest.validate_raw(the_lake, spec, corpus.GOOD_DAY, landed), the_lake


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_rejected_naming_the_failed_check(isolated_state, spec, name) -> None:
    case = CASES[name]
    summary, the_lake = _ingest_check(isolated_state, spec, case)
    assert summary["status"] == case.status, summary
    messages = summary["batch_failures"] + [c["description"] for c in summary["failed_checks"]]
    assert any(case.message in m for m in messages), messages
    # the raw batch is kept byte for byte, whatever it holds
    assert the_lake.raw_path(corpus.GOOD_DAY, summary["raw"]["name"]).read_bytes() == case.data


def test_the_good_day_passes(isolated_state, spec) -> None:
    g = corpus.good_frame()
    summary, _ = _ingest_check(
        isolated_state, spec, corpus.Case(g.to_csv(index=False).encode(), ".csv", "valid", "")
    )
    assert summary["status"] == "valid" and summary["rows"] == len(g) == 24
    assert summary["checks_total"] >= 50
    assert summary["data_docs"].startswith("file://") and summary["data_docs"].endswith(".html")


def test_row_failures_carry_a_reason_per_row(isolated_state, spec) -> None:
    frame = readers.read_table(CASES["out_of_range"].data, "x.csv").frame
    outcome = validation.validate_frame(frame, spec.suite_name, "t", 0.1)
    assert list(outcome.row_reasons) == [2]
    assert outcome.row_reasons[2] == [
        "hum: expect_column_values_to_be_between (min_value=0.0, max_value=1.0)"
    ]


needs_real_data = pytest.mark.skipif(not HOUR_CSV.exists(), reason="shared dataset not present")


@needs_real_data
@pytest.mark.parametrize(
    "day",
    [
        "2011-01-01",
        "2011-01-18",
        "2011-07-04",
        "2011-12-25",
        "2012-02-29",
        "2012-06-15",
        "2012-10-29",
        "2012-10-30",
        "2012-12-31",
    ],
)
def test_real_days_pass_including_days_with_missing_hours(isolated_state, spec, day) -> None:
    real = pd.read_csv(HOUR_CSV)
    batch = real[real.dteday == day]
    outcome = validation.validate_frame(batch, spec.suite_name, day, 0.1)
    assert outcome.success, outcome.summary()
    if day == "2012-10-30":
        assert outcome.rows == 11  # Hurricane Sandy


@needs_real_data
def test_every_real_row_passes_the_row_level_checks(isolated_state, spec) -> None:
    """All 17,379 real rows at once: only the one-day row-count check may fail."""
    real = pd.read_csv(HOUR_CSV)
    outcome = validation.validate_frame(real, spec.suite_name, "all", 1.0)
    assert outcome.row_reasons == {}
    assert [c.expectation for c in outcome.checks if not c.success] == [
        "expect_table_row_count_to_be_between"
    ]


def test_unreadable_outcome_is_a_batch_failure() -> None:
    outcome = validation.unreadable("s", "file is empty (0 bytes)")
    assert outcome.batch_failed and not outcome.success
    assert outcome.summary()["failed_checks"][0]["description"].endswith("empty (0 bytes)")


def test_simulated_days_pass_the_suite(isolated_state, spec) -> None:
    from airloop.core.simulators.simulator import DriftScenario, simulate_day

    drift = DriftScenario(start=date(2012, 6, 1), temp_shift=0.12, demand_multiplier=1.3)
    for day in (date(2011, 3, 1), date(2012, 7, 4), date(2026, 11, 23)):
        outcome = validation.validate_frame(
            simulate_day(day, seed=3, drift=drift), spec.suite_name, day.isoformat(), 0.1
        )
        assert outcome.success, (day, outcome.summary())


def _row_by_row(a: pd.Series, b: pd.Series, value_pairs: list) -> list[bool]:
    """GX 1.x's own pandas implementation of the pair check (row by row), for comparison."""
    allowed = {(x, y) for x, y in value_pairs}
    return [
        (None if pd.isnull(x) else x, None if pd.isnull(y) else y) in allowed
        for x, y in zip(a, b, strict=True)
    ]


def test_the_vectorised_pair_check_answers_as_gx_does() -> None:
    """core.data.vectorised_checks replaces GX's iterrows loop; the answers must not change."""
    from airloop.core.data.vectorised_checks import pairs_in_set

    pairs = [[1, 1], [1, 2], [2, 3], [None, 4], ["x", 5]]
    a = pd.Series([1, 1, 2, 2, None, None, "x", "x", 1.0, float("nan")], dtype=object)
    b = pd.Series([1, 3, 3, None, 4, 5, 5, 6, 2.0, 4], dtype=object)
    got = pairs_in_set(a, b, pairs).tolist()
    assert got == _row_by_row(a, b, pairs)
    assert got == [True, False, True, False, True, False, True, False, True, True]
    ints = pd.Series([1, 2, 3], dtype="int64")
    assert pairs_in_set(ints, ints, None).tolist() == [True, True, True]  # GX: vacuously true


def test_the_vectorised_strftime_check_answers_as_gx_does() -> None:
    """One strptime per distinct value instead of per row: same answers, same error, and it is
    the provider GX runs (a real GX validation reports the same failing rows)."""
    from datetime import datetime

    import great_expectations as gx

    from airloop.core.data.validation import get_context
    from airloop.core.data.vectorised_checks import matches_strftime

    values = ["2012-06-01", "2012-06-01", "2012-02-30", "06/01/2012", "", "2012-6-1", "2012-06-01x"]
    column = pd.Series(values * 3, dtype=object)

    def gx_row_loop(value: str) -> bool:  # GX 1.x's own pandas implementation, per row
        try:
            datetime.strptime(value, "%Y-%m-%d")
            return True
        except ValueError:
            return False

    expected = [gx_row_loop(v) for v in column]
    assert matches_strftime(column, "%Y-%m-%d").tolist() == expected
    with pytest.raises(TypeError, match="must be of type string"):
        matches_strftime(pd.Series(["2012-06-01", 3], dtype=object), "%Y-%m-%d")

    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations.registry import get_metric_provider

    get_context()  # registers Airloop's providers, as every validation does
    provider, _ = get_metric_provider(
        "column_values.match_strftime_format.condition", PandasExecutionEngine())  # fmt: skip
    assert provider.__name__ == "VectorisedMatchStrftimeFormat"
    batch = gx.get_context(mode="ephemeral").data_sources.add_pandas("probe").add_dataframe_asset(
        "probe").add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": pd.DataFrame({"dteday": column})})  # fmt: skip
    result = batch.validate(gx.expectations.ExpectColumnValuesToMatchStrftimeFormat(
        column="dteday", strftime_format="%Y-%m-%d"), result_format="COMPLETE")  # fmt: skip
    assert result.result["unexpected_index_list"] == [i for i, ok in enumerate(expected) if not ok]
