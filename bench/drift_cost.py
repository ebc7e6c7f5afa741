"""Cost of airloop.core.monitor.drift.compute (Evidently) at N current rows: wall seconds and
peak memory.

Usage: python bench/drift_cost.py ROWS [ROWS ...]   (one fresh process per size)
Each size builds, untimed, a current frame of ROWS rows in the UCI hourly schema (a simulated
year resampled), predictions for it, labelled rows (10 % of it, joined to predictions) and a
5000-row reference, then times one ``compute`` with the defaults (sample_rows 5000, max_columns
30). Evidently is imported before timing: its import is a one-off per process, reported apart.
Prints a table and a final JSON line {"drift": {ROWS: {"seconds": .., "peak_rss_gb": ..}}}.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import date

FEATURES = [
    "season", "yr", "mnth", "hr", "holiday", "weekday", "workingday", "weathersit",
    "temp", "atemp", "hum", "windspeed",
]  # fmt: skip
CATEGORICAL = ["season", "weathersit", "weekday"]


def _rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)  # KiB on Linux


def measure(rows: int) -> dict:
    import numpy as np
    import pandas as pd

    from airloop.core.monitor import drift
    from airloop.core.simulators.simulator import simulate_range

    history = simulate_range(date(2011, 1, 1), 365, seed=1)
    profile = history.groupby(["hr", "workingday"])["cnt"].mean()

    def predict(frame: pd.DataFrame) -> pd.Series:
        keys = pd.MultiIndex.from_frame(frame[["hr", "workingday"]])
        return pd.Series(profile.reindex(keys).to_numpy() * (0.6 + frame["temp"]), frame.index)

    reference = history.sample(5000, random_state=0, ignore_index=True)
    reference["prediction"] = predict(reference)
    year = simulate_range(date(2012, 1, 1), 366, seed=2)
    rng = np.random.default_rng(3)
    current = year.iloc[rng.integers(0, len(year), rows)].reset_index(drop=True)
    predictions = predict(current)
    labelled = current.assign(prediction=predictions).sample(frac=0.1, random_state=4)

    started = time.perf_counter()
    import evidently  # noqa: F401  (a one-off per process, not per call)

    import_seconds = time.perf_counter() - started
    rss_before = _rss_gb()
    started = time.perf_counter()
    result = drift.compute(
        reference,
        current,
        features=FEATURES,
        target="cnt",
        task="regression",
        categorical=CATEGORICAL,
        current_predictions=predictions,
        labelled=labelled,
    )
    seconds = time.perf_counter() - started
    s = result.summary
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "evidently_seconds": s["compute_seconds"],
        "import_seconds": round(import_seconds, 2),
        "peak_rss_gb": _rss_gb(),
        "rss_before_gb": rss_before,
        "current_rows": s["current_rows"],
        "labelled_rows": s["labelled_rows"],
        "drift_share": s["drift_share"],
        "artifact_mb": round(sum(map(len, result.artifacts.values())) / 2**20, 1),
    }


def main(sizes: list[int]) -> None:
    results = {}
    for n in sizes:  # one fresh process per size, so peak memory is per size
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], check=True, capture_output=True, text=True
        )
        results[n] = json.loads(done.stdout.strip().splitlines()[-1])
    head = (
        "rows",
        "seconds",
        "evidently_seconds",
        "import_seconds",
        "peak_rss_gb",
        "rss_before_gb",
    )
    print("  ".join(f"{h:>17}" for h in head))
    for r in results.values():
        print("  ".join(f"{r[h]:>17}" for h in head))
    summary = {
        str(n): {"seconds": r["seconds"], "peak_rss_gb": r["peak_rss_gb"]}
        for n, r in results.items()
    }
    print(json.dumps({"drift": summary}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(int(sys.argv[2]))), flush=True)
    else:
        main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
