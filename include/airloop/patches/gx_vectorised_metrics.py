"""Two of GX's row-by-row pandas metrics replaced by vectorised providers under GX's own names.

- ``column_pair_values.in_set`` (``expect_column_pair_values_to_be_in_set``) uses
  ``DataFrame.iterrows``: about 1 s per 1000 rows per expectation here, ~50 min for a 1M-row day
  of the bike suite's three pair checks.
- ``column_values.match_strftime_format`` (``expect_column_values_to_match_strftime_format``)
  calls ``strptime`` once per row: ~14 s for a 1M-row day, although a day's date column holds a
  handful of distinct values.

:func:`install` registers subclasses of GX's providers whose pandas partials call the pure
functions of ``airloop.core.data.vectorised_checks`` (same answers, same errors). Registering a
provider under an existing metric name is GX's extension point; GX warns that it overwrites one,
and that warning is muted here. ``airloop.core.data.validation`` installs it before any validation.

Upstream: not reported yet; reproduction (great-expectations 1.24.1):
    frame = pd.DataFrame({"a": [1] * 100_000, "b": [2] * 100_000})
    batch = gx.get_context(mode="ephemeral").data_sources.add_pandas("p").add_dataframe_asset(
        "a").add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame})
    batch.validate(gx.expectations.ExpectColumnPairValuesToBeInSet(
        column_A="a", column_B="b", value_pairs_set=[(1, 2)]))  # ~100 s: iterrows per row
"""

from __future__ import annotations

import logging
from typing import Any

_installed = False


def install() -> None:
    """Register the vectorised providers once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from great_expectations.execution_engine import PandasExecutionEngine as Pandas
    from great_expectations.expectations.metrics import map_metric_provider as gx_map

    from airloop.core.data.vectorised_checks import matches_strftime, pairs_in_set

    gx_pairs, gx_strftime = upstream_providers()
    registry_log = logging.getLogger("great_expectations.expectations.registry")
    level = registry_log.level
    registry_log.setLevel(logging.ERROR)
    try:

        class VectorisedColumnPairValuesInSet(gx_pairs):  # type: ignore[valid-type,misc]
            @gx_map.column_pair_condition_partial(engine=Pandas)
            def _pandas(cls, column_A: Any, column_B: Any, **kwargs: Any) -> Any:
                return pairs_in_set(column_A, column_B, kwargs.get("value_pairs_set"))

        class VectorisedMatchStrftimeFormat(gx_strftime):  # type: ignore[valid-type,misc]
            @gx_map.column_condition_partial(engine=Pandas)
            def _pandas(cls, column: Any, strftime_format: str, **kwargs: Any) -> Any:
                return matches_strftime(column, strftime_format)

    finally:
        registry_log.setLevel(level)
    _installed = True


def upstream_providers() -> tuple[type, type]:
    """GX's own providers: ``ColumnPairValuesInSet``, ``ColumnValuesMatchStrftimeFormat``."""
    from great_expectations.expectations.metrics.column_map_metrics import (
        column_values_match_strftime_format as gx_strftime,
    )
    from great_expectations.expectations.metrics.column_pair_map_metrics import (
        column_pair_values_in_set as gx_pairs,
    )

    return gx_pairs.ColumnPairValuesInSet, gx_strftime.ColumnValuesMatchStrftimeFormat
