"""City-scale days in the UCI hourly schema, for load tests and ``make bench``.

The simulator writes one row per hour (a single counter). A city feed has many counters: this
draws ``rows`` rows from the simulated day's hours, each a counter whose rentals are the hour's
scaled by its own factor, so every row still obeys the schema's rules (casual + registered =
cnt, the calendar columns agree with the date). ``instant`` is renumbered to stay unique across
days, and it is the key at this scale: (dteday, hr) repeats within a day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from airloop.core.simulators.simulator import DriftScenario, simulate_day

_EPOCH = dt.date(2011, 1, 1)
MAX_ROWS_PER_DAY = 1_000_000  # keeps ``instant`` under the suite's bound for ~2700 years of days


def simulate_scaled_day(
    day: dt.date, rows: int, *, seed: int = 0, drift: DriftScenario | None = None
) -> pd.DataFrame:
    """``rows`` counter-hours of ``day`` (no missing hours); deterministic per (day, seed)."""
    if not 24 <= rows <= MAX_ROWS_PER_DAY:
        raise ValueError(f"rows_per_day must be between 24 and {MAX_ROWS_PER_DAY}, got {rows}")
    hours = simulate_day(day, seed=seed, drift=drift, missing_hour_rate=0.0)
    rng = np.random.default_rng([seed, day.toordinal(), rows])
    out = hours.iloc[rng.integers(0, len(hours), rows)].reset_index(drop=True)
    factor = rng.lognormal(mean=0.0, sigma=0.35, size=rows)
    out["casual"] = np.rint(out["casual"].to_numpy() * factor).astype("int64")
    out["registered"] = np.rint(out["registered"].to_numpy() * factor).astype("int64")
    out["cnt"] = out["casual"] + out["registered"]
    first = (day.toordinal() - _EPOCH.toordinal()) * MAX_ROWS_PER_DAY + 1
    out["instant"] = np.arange(first, first + rows, dtype="int64")
    return out
