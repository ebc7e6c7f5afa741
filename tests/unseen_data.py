"""Data files the project has never seen, as a data engineer would bring them.

Four domains, both task types, with and without a time column, three delimiters. The files
with a time column change regime after day 27, so monitoring has something to find.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DAYS, PER_DAY = 40, 150


def _dates(start: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(start) + pd.Timedelta(days=d) for d in range(DAYS)]


def machines(folder: Path) -> Path:
    """Classification (0/1 ``failure``, ~15 %), time column ``reading_date``, commas."""
    rng = np.random.default_rng(1)
    frames = []
    for d, day in enumerate(_dates("2023-03-01")):
        hot = d >= 27
        temp = rng.normal(60 + 15 * hot, 8, PER_DAY)
        vib = rng.gamma(2, 1.5 + hot, PER_DAY)
        model = rng.choice(["A100", "B200", "C300"], PER_DAY, p=[0.5, 0.3, 0.2])
        logit = -3 + 0.06 * (temp - 60) + 0.5 * (vib - 3) + np.where(model == "C300", 1.0, 0)
        frames.append(pd.DataFrame({
            "reading_date": day.date().isoformat(), "machine_id": np.arange(PER_DAY) + 1000,
            "temperature": temp.round(2), "vibration": vib.round(3), "model": model,
            "failure": (rng.random(PER_DAY) < 1 / (1 + np.exp(-logit))).astype(int),
        }))  # fmt: skip
    path = folder / "machines.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def energy(folder: Path) -> Path:
    """Regression (``kwh``), time column ``day``, semicolons."""
    rng = np.random.default_rng(2)
    frames = []
    for d, day in enumerate(_dates("2022-10-01")):
        cold = d >= 27
        temp = rng.normal(12 - 9 * cold, 4, PER_DAY)
        occupancy = rng.integers(0, 400, PER_DAY)
        kind = rng.choice(["office", "school", "lab"], PER_DAY)
        base = np.select([kind == "office", kind == "school"], [200, 150], 320)
        kwh = base + 0.9 * occupancy + 9 * np.maximum(18 - temp, 0) + rng.normal(0, 25, PER_DAY)
        frames.append(pd.DataFrame({
            "day": day.date().isoformat(), "building": [f"B{i:03d}" for i in range(PER_DAY)],
            "kind": kind, "outside_temp": temp.round(1), "occupancy": occupancy,
            "kwh": kwh.round(1),
        }))  # fmt: skip
    path = folder / "energy.csv"
    pd.concat(frames).to_csv(path, index=False, sep=";")
    return path


def loans(folder: Path) -> Path:
    """Classification with text labels (``approved``/``declined``), no time column, tabs, and
    rows sorted by the label (as exports often are)."""
    rng = np.random.default_rng(3)
    n = DAYS * PER_DAY
    income = rng.lognormal(10.5, 0.4, n).round(0)
    debt = rng.uniform(0, 0.8, n).round(3)
    purpose = rng.choice(["car", "home", "study", "other"], n)
    score = rng.normal(650, 60, n).round(0)
    logit = 0.02 * (score - 650) - 4 * (debt - 0.4) + 0.5 * (purpose == "home")
    decision = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "approved", "declined")
    frame = pd.DataFrame({"income": income, "debt_ratio": debt, "purpose": purpose,
                          "credit_score": score, "decision": decision})  # fmt: skip
    path = folder / "loans.tsv"
    frame.sort_values("decision", kind="stable").to_csv(path, index=False, sep="\t")
    return path


def parcels(folder: Path) -> Path:
    """Regression (``minutes``), no time column and no key column, commas."""
    rng = np.random.default_rng(4)
    n = DAYS * PER_DAY
    distance = rng.gamma(2, 4, n).round(2)
    weight = rng.gamma(2, 2, n).round(2)
    courier = rng.choice(["bike", "van", "truck"], n)
    hour = rng.integers(7, 21, n)
    speed = np.select([courier == "bike", courier == "van"], [0.3, 0.5], 0.4)
    minutes = 10 + distance / speed + 1.5 * weight + 3 * (hour > 16) + rng.normal(0, 4, n)
    frame = pd.DataFrame({"distance_km": distance, "weight_kg": weight, "courier": courier,
                          "hour": hour, "minutes": minutes.round(1)})  # fmt: skip
    path = folder / "parcels.csv"
    frame.to_csv(path, index=False)
    return path
