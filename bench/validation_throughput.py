"""Validation throughput and peak memory of the bike_demand.raw suite at N rows.

Usage: python bench/validation_throughput.py ROWS [ROWS ...]   (one fresh process per size)
Prints one JSON line per size. Rows are simulated days back to back (UCI hourly schema).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure(rows: int) -> dict:
    import os
    import shutil

    from airloop.core.data import validation
    from airloop.core.simulators.simulator import simulate_range

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(
            REPO / "great_expectations",
            Path(tmp) / "gx",
            ignore=shutil.ignore_patterns("uncommitted"),
        )
        os.environ["AIRLOOP_GX_DIR"] = str(Path(tmp) / "gx")
        frame = simulate_range(date(2011, 1, 1), rows // 23 + 2, seed=1).head(rows)
        frame["yr"] = frame["yr"].clip(upper=100)  # 1M rows span a century of simulated days
        validation.get_context()  # context load is a one-off cost, not per-row work
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        start = time.perf_counter()
        outcome = validation.validate_frame(frame, "bike_demand.raw", f"bench-{rows}", 1.0)
        seconds = time.perf_counter() - start
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "rss_before_gb": round(rss_before, 2),
        "checks": len(outcome.checks),
        "row_failures": outcome.failing_rows,
    }


if __name__ == "__main__":
    if len(sys.argv) > 2:  # one fresh process per size, so peak memory is per size
        for n in sys.argv[1:]:
            subprocess.run([sys.executable, __file__, n], check=True)
    else:
        print(json.dumps(measure(int(sys.argv[1]))), flush=True)
