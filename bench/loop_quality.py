"""Is the loop right? Airloop's policy against never / daily / every-7-days retraining.

Usage: python bench/loop_quality.py [--days N] [--only NAME,...] — prints one JSON line:
per dataset and strategy the served error, retrains and promotions; for Airloop its false
alarms and detection delays; and the worst dataset's figures under ``loop_*`` keys.

Definitions (the same for every dataset):
- A change that matters is measured, not assumed (the simulators have seasons and growth
  besides their change point, and real data has no known change points): a day is
  *harmful* when the model Airloop serves has a trailing-7-day error more than ``HARM`` above
  the daily-retrained model's over the same days; a run of ≥ 3 harmful days is a harmful change.
  Its delay is the days from its first day to Airloop's next request (a request up to 3 days
  before it counts as 0). Not requested while it lasts: the delay is its length (censored).
  A false alarm is a request outside every harmful change (and its 3 days before); calm days are
  the days outside them. A simulator's detection delay is timed from its known change point to
  the first request on or after it; its requests before the change are reported beside.
- ``loop_regret_vs_daily``: the served error over daily retraining's; ``loop_retrains_vs_daily``:
  Airloop's trainings (first model excluded, as for every strategy) over daily's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys

# Two replays run side by side on two cores: OpenMP threads in each (scikit-learn's boosting)
# would oversubscribe them, ~10× slower here. Set before numpy and scikit-learn load.
os.environ.setdefault("OMP_NUM_THREADS", "1")
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_replay import STRATEGIES, Replay, replay
from loop_specs import cases

HARM, HARM_DAYS, LEAD_DAYS = 0.10, 3, 3


def _trailing(out: Replay, metric: str, span: int = 7) -> np.ndarray:
    loss, rows = np.array(out.daily_loss), np.array(out.daily_rows, dtype=float)
    num = np.convolve(loss * rows, np.ones(span))[: len(loss)]
    den = np.convolve(rows, np.ones(span))[: len(loss)]
    err = num / den
    return np.sqrt(err) if metric == "rmse" else err


def _episodes(harmful: np.ndarray) -> list[tuple[int, int]]:
    found, start = [], None
    for i, bad in enumerate([*harmful, False]):
        if bad and start is None:
            start = i
        elif not bad and start is not None:
            if i - start >= HARM_DAYS:
                found.append((start, i - 1))
            start = None
    return found


def judge(runs: dict[str, Replay], metric: str, change: dt.date | None) -> dict[str, Any]:
    """False alarms and detection delay of the Airloop run (see the module docstring)."""
    ours = runs["airloop"]
    asked = [d for d, kind in ours.retrains if kind != "initial"]
    days = ours.days
    harmful = _trailing(ours, metric) > (1 + HARM) * _trailing(runs["daily"], metric)
    spans = _episodes(harmful)
    delays, covered = [], set()
    for start, end in spans:
        lead = days[start] - dt.timedelta(days=LEAD_DAYS)
        hits = [d for d in asked if lead <= d <= days[end]]
        delays.append(max(0, (hits[0] - days[start]).days) if hits else end - start + 1)
        covered |= {d for d in days if lead <= d <= days[end]}
    calm = [d for d in days if d not in covered]
    false = [d for d in asked if d not in covered]
    extra: dict[str, Any] = {
        "harmful_changes": [[days[s].isoformat(), days[e].isoformat()] for s, e in spans]
    }
    if change is not None:  # a simulator: its change point is known, so time it from there
        after = [d for d in asked if d >= change]
        delays = [(after[0] - change).days if after else (days[-1] - change).days]
        extra |= {"change": change.isoformat(),
                  "requests_before_change": len([d for d in asked if d < change]),
                  "days_before_change": len([d for d in days if d < change])}  # fmt: skip
    return {"false_alarms": len(false), "calm_days": len(calm),
            "false_alarms_per_90d": round(len(false) / max(len(calm), 1) * 90, 2),
            "detection_delay_days": round(float(np.mean(delays)), 2) if delays else None,
            "delays": delays, **extra}  # fmt: skip


def _one(job: tuple[str, str, int | None]) -> tuple[str, str, Replay]:
    name, strategy, days = job
    case = cases(days)[name]
    return name, strategy, replay(case.spec, case.frame, strategy, case.first)


def run(days: int | None, only: list[str] | None) -> dict[str, Any]:
    found = cases(days)
    names = [n for n in found if not only or n in only]
    jobs = [(n, s, days) for n in names for s in STRATEGIES]
    with ProcessPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(_one, jobs))
    table: dict[str, Any] = {}
    for name in names:
        case = found[name]
        metric = case.spec.promotion.metric if case.spec.promotion else "rmse"
        runs = {s: r for n, s, r in done if n == name}
        daily = runs["daily"]
        row: dict[str, Any] = {"citation": case.citation, "metric": metric,
                               "days": len(daily.days), "rows": len(case.frame)}  # fmt: skip
        for strategy, out in runs.items():
            row[strategy] = {
                "served_error": round(out.served_error(metric), 4),
                "retrains": len(out.retrains), "promotions": len(out.promotions),
                "seconds": out.seconds,
                "error_by_month": _monthly(out, metric),
            }  # fmt: skip
        ours = runs["airloop"]
        row["airloop"] |= judge(runs, metric, case.change)
        row["airloop"]["calibration_seconds_mean"] = (
            round(float(np.mean(ours.calibration_seconds)), 3) if ours.calibration_seconds else None
        )
        row["regret_vs_daily"] = round(ours.served_error(metric) / daily.served_error(metric), 3)
        row["retrains_vs_daily"] = round(len(ours.retrains) / max(len(daily.retrains), 1), 3)
        table[name] = row
    return {"loop_datasets": table, **worst(table)}


def worst(table: dict[str, Any]) -> dict[str, Any]:
    """The worst dataset's figure, for each goal."""

    def pick(key: str, inner: bool = False) -> Any:
        values = [
            (r["airloop"][key] if inner else r[key], n)
            for n, r in table.items()
            if (r["airloop"].get(key) if inner else r.get(key)) is not None
        ]
        return max(values) if values else (None, None)  # fmt: skip

    found = {}
    for figure, key, inner in (("loop_false_alarms_per_90d", "false_alarms_per_90d", True),
                               ("loop_detection_delay_days", "detection_delay_days", True),
                               ("loop_regret_vs_daily", "regret_vs_daily", False),
                               ("loop_retrains_vs_daily", "retrains_vs_daily", False)):  # fmt: skip
        value, name = pick(key, inner)
        found[figure], found[f"{figure}_dataset"] = value, name
    return found


def _monthly(out: Replay, metric: str) -> dict[str, float]:
    frame = pd.DataFrame({"month": [d.strftime("%Y-%m") for d in out.days],
                          "loss": np.array(out.daily_loss) * out.daily_rows,
                          "rows": out.daily_rows})  # fmt: skip
    agg = frame.groupby("month")[["loss", "rows"]].sum()
    err = agg["loss"] / agg["rows"]
    return {m: round(float(np.sqrt(v) if metric == "rmse" else v), 4) for m, v in err.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=None, help="replay at most N days a dataset")
    parser.add_argument("--only", default=None, help="comma-separated dataset names")
    args = parser.parse_args()
    print(json.dumps(run(args.days, args.only.split(",") if args.only else None), default=str))
