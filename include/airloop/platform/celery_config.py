"""Celery settings of the stack: Airflow's defaults, plus the heavy ML libraries preloaded.

Airflow 3 runs every task in a process forked from a Celery pool process, which is forked from
the worker's main process. A library imported there before the pool starts is inherited by every
task instead of being imported again per task (GX alone takes ~8 s cold). Airflow preloads its
own modules the same way, on the same signal (``celery_executor_utils.on_celery_import_modules``).

``AIRLOOP_PRELOAD_MODULES`` (comma-separated; empty to disable) chooses what to preload.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

DEFAULT_PRELOAD = (
    "pandas",
    "pyarrow.parquet",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "mlflow",
    "mlflow.sklearn",
    "great_expectations",
    "evidently",
    "evidently.presets",
)

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)

log = logging.getLogger(__name__)


def preload_modules() -> list[str]:
    raw = os.environ.get("AIRLOOP_PRELOAD_MODULES")
    names = DEFAULT_PRELOAD if raw is None else raw.split(",")
    return [name.strip() for name in names if name.strip()]


@import_modules.connect
def preload(*_args: Any, **_kwargs: Any) -> None:
    """Import the heavy libraries in the worker's main process, before its pool forks."""
    for name in preload_modules():
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional library must not stop the worker
            log.warning("airloop: could not preload %s: %s", name, exc)
