"""Where a pipeline's days come from: the source sections of a spec (``source.kind``).

Part of :mod:`airloop.spec` (which re-exports them in its ``Source`` union).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftScenarioSpec(_Strict):
    """A simulated regime shift from ``start`` on (``simulators.simulator.DriftScenario``)."""

    start: date
    temp_shift: float = Field(0.0, ge=-1, le=1)
    humidity_shift: float = Field(0.0, ge=-1, le=1)
    demand_multiplier: float = Field(1.0, gt=0, le=10)
    commute_peak_factor: float = Field(1.0, ge=0, le=10)
    casual_share_factor: float = Field(1.0, ge=0, le=10)


class SimulatorSource(_Strict):
    kind: Literal["simulator"]
    seed: int = 0
    missing_hour_rate: float = Field(0.01, ge=0, le=0.5)
    drift: DriftScenarioSpec | None = None
    # Set: a city-scale day of this many counter-hours instead of one row per hour (load tests,
    # `make bench`); ``instant`` is then the key (see airloop.core.simulators.scaled_simulator).
    rows_per_day: int | None = Field(None, ge=24, le=1_000_000)


class FileSource(_Strict):
    """A CSV/Parquet file (``s3://``, absolute, or relative to the project root) replayed one
    day per run."""

    kind: Literal["file"]
    path: str
    format: Literal["auto", "csv", "parquet"] = "auto"
    delimiter: str = Field(",", min_length=1, max_length=1)
    time_column: str | None = None  # rows whose date equals the run's date form its batch
    chunk_rows: int = Field(24, gt=0)  # without a time column: chunk N is day start_date + N
    # Without a key in the data: a column added to every row holding its position in the file
    # (stable across replays, so late labels and predictions still join).
    row_id: str | None = None
    # Without a time column, replay rows in this seeded random order (a file sorted by its
    # target would otherwise give days of a single class).
    shuffle_seed: int | None = None


class PythonSource(_Strict):
    """A function ``module:callable(day, **params) -> DataFrame`` that produces a day's rows."""

    kind: Literal["python"]
    callable: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    params: dict[str, Any] = {}


class SqlSource(_Strict):
    """A query through an Airflow connection, bound to the run's data interval.

    The query receives ``%(start)s`` and ``%(end)s`` (half-open interval) as parameters.
    """

    kind: Literal["sql"]
    conn_id: str
    query: str

    @model_validator(mode="after")
    def _binds_interval(self) -> SqlSource:
        if "%(start)s" not in self.query or "%(end)s" not in self.query:
            raise ValueError("query must use the parameters %(start)s and %(end)s")
        return self
