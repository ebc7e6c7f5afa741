"""A throwaway Airloop project for the platform figures: ``bike_scale``, the bike pipeline at
city scale (``rows_per_day`` counter-hours a day, keyed on ``instant``), with its suite, DAG file
and private state on free loopback ports.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from datetime import date, timedelta
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PIPELINE = "bike_scale"
# The city-scale model: 100 boosting rounds, not the hourly spec's 300 at a lower rate. At 100k+
# rows a day it trains in seconds, and it predicts a 1M-row day ~3× faster.
CITY_SCALE_PARAMS = {"max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 31}
SEEDED_DAYS = 3  # validated history before the loop starts: the first model trains on day 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spec(rows: int, drift_start: date | None, seeded_days: int, monitor_days: int) -> dict:
    spec = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())
    spec.update(name=PIPELINE, key=["instant"], description="bike_demand at city scale (bench)")
    spec["source"] = {**spec["source"], "rows_per_day": rows}
    if drift_start:
        spec["source"]["drift"]["start"] = drift_start.isoformat()
    else:
        spec["source"].pop("drift", None)
    # Windows in days, as in the demo, but short: the first model trains on the loop's first
    # day, and the figures measure the loop, not a long wait for history.
    spec["training"] |= {"window_days": seeded_days + 1, "holdout_days": 1,
                         "min_rows": min(200, rows * 2), "params": CITY_SCALE_PARAMS}  # fmt: skip
    # Counters vary more than the hourly totals: the floor is not what is measured here.
    spec["promotion"]["floor"] = 100_000.0
    spec["monitoring"]["window_days"] = monitor_days
    spec["monitoring"]["policy"] |= {"initial_min_days": seeded_days, "persistence_k": 2,
                                     "persistence_n": 2, "cooldown_days": 1, "retry_days": 2,
                                     "max_retrains": 5}  # fmt: skip
    return spec


def city_scale_suite(gx_root: Path) -> dict:
    """The bike suite without its 24-rows-a-day cap and (dteday, hr) key: at city scale the key
    is ``instant``, already checked unique; every other expectation is kept."""
    suite = json.loads((gx_root / "expectations" / "bike_demand" / "raw.json").read_text())
    kept = []
    for expectation in suite["expectations"]:
        if expectation["type"] == "expect_compound_columns_to_be_unique":
            continue
        if expectation["type"] == "expect_table_row_count_to_be_between":
            expectation["kwargs"]["max_value"] = 100_000_000
        kept.append(expectation)
    return {**suite, "expectations": kept}


def _suite(gx_root: Path) -> None:
    """``city_scale_suite`` as the bench pipeline's own suite."""
    suite = city_scale_suite(gx_root) | {"name": f"{PIPELINE}.raw"}
    suite.pop("id", None)
    for expectation in suite["expectations"]:
        expectation.pop("id", None)
    folder = gx_root / "expectations" / PIPELINE
    folder.mkdir(parents=True)
    (folder / "raw.json").write_text(json.dumps(suite, indent=2))


def create(
    root: Path,
    rows: int,
    drift_start: date | None = None,
    seeded_days: int = SEEDED_DAYS,
    monitor_days: int = 2,
) -> dict[str, str]:
    """Write the project under ``root``; return the environment that runs ``airloop`` in it.

    ``seeded_days`` of history (see :func:`seed`) make the first model's training window and
    reference; ``monitor_days`` is the window each day's drift is measured over.
    """
    for folder in ("include/pipelines", "dags", "plugins"):
        (root / "project" / folder).mkdir(parents=True)
    project = root / "project"
    (project / "include" / "pipelines" / f"{PIPELINE}.yaml").write_text(
        yaml.safe_dump(_spec(rows, drift_start, seeded_days, monitor_days), sort_keys=False)
    )
    shutil.copytree(REPO / "great_expectations", project / "great_expectations",
                    ignore=shutil.ignore_patterns("uncommitted"))  # fmt: skip
    _suite(project / "great_expectations")
    (project / "dags" / f"{PIPELINE}.py").write_text(
        "from airloop.airflow.factory import build_pipeline_dags\n\n"
        f'globals().update(build_pipeline_dags("{PIPELINE}"))\n'
    )
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "MLFLOW", "AIRLOOP_"))}  # fmt: skip
    env.update(
        AIRLOOP_PROJECT_ROOT=str(project), AIRLOOP_HOME=str(root / "state"),
        AIRLOOP_AIRFLOW_PORT=str(_free_port()), AIRLOOP_MLFLOW_PORT=str(_free_port()),
        AIRLOOP_SERVING_PORT=str(_free_port()),
    )  # fmt: skip
    return env


def seed(lake_root: Path, rows: int, start: date, days: int = SEEDED_DAYS) -> None:
    """Validated history before ``start`` (what earlier ingests would have published)."""
    from airloop.core.data.lake import Lake
    from airloop.core.simulators.scaled_simulator import simulate_scaled_day

    lake = Lake(lake_root, PIPELINE)
    for back in range(days, 0, -1):
        day = start - timedelta(days=back)
        lake.publish("validated", day, simulate_scaled_day(day, rows, seed=42), {"seeded": True})
