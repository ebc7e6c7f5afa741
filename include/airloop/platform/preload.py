"""Import the heavy ML libraries once, in the process that task processes are forked from.

Airflow 3 runs every task in a fresh process. Under LocalExecutor that process is forked from a
worker the scheduler forked at start; under Celery, from a pool process the worker's main process
forked. Whatever those parents imported, every task inherits for free; whatever they did not,
every task imports again (GX ~8 s, Evidently ~5 s, MLflow and scikit-learn a few more, cold).
Airflow preloads its own modules the same way (``celery_executor_utils.on_celery_import_modules``).

``AIRLOOP_PRELOAD_MODULES`` (comma-separated; empty disables) chooses what to preload.
"""

from __future__ import annotations

import importlib
import logging
import os

from airloop.platform import fresh_imports

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
    # Imported on first use inside the task, measured in a preloaded process: MLflow loads
    # scikit-learn models with skops (~1 s: all of scikit-learn), logs runs with GitPython, and
    # the lake reads partitions through pyarrow.dataset; Evidently goes through narwhals.
    "skops.io",
    "mlflow.pyfunc",
    "git",
    "pyarrow.dataset",
    "narwhals",
    # What Airloop's task code imports besides: the lake's object storage (fsspec, universal
    # pathlib) and the spec's models.
    "airflow.sdk.io.path",
    # Every task process parses its DAG file: TaskFlow's decorators and the DagBag it parses
    # with cost ~50 ms a task when not inherited.
    "airflow.providers.standard.decorators.python",
    "airflow.sdk.definitions.decorators",
    "airflow.dag_processing.dagbag",
    "fsspec",
    "upath",
    "yaml",
    "pydantic",
    # Airloop's own: the DAG files' factory (the task modules and the spec's pydantic models)
    # and the core modules task bodies import, ~35 ms a task. A task forked after one of their
    # sources changed imports the current code (``airloop.platform.fresh_imports``).
    "airloop.airflow.factory",
    "airloop.airflow.runtime",
    "airloop.project",
    "airloop.core.pipeline",
    "airloop.core.data.ingest",
    "airloop.core.data.sources",
    "airloop.core.model.scoring",
    "airloop.core.monitor.monitoring",
    "airloop.core.model.challenger",
    "airloop.core.model.promotion",
    "airloop.core.model.registry",
    "airloop.core.model.retraining",
    "airloop.core.monitor.steps",
)

log = logging.getLogger(__name__)


def preload_modules() -> list[str]:
    raw = os.environ.get("AIRLOOP_PRELOAD_MODULES")
    names = DEFAULT_PRELOAD if raw is None else raw.split(",")
    return [name.strip() for name in names if name.strip()]


def preload() -> list[str]:
    """Import :func:`preload_modules`; returns those that imported (a failure only warns)."""
    loaded = []
    for name in preload_modules():
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception as exc:  # a missing optional library must not stop the executor
            log.warning("airloop: could not preload %s: %s", name, exc)
    if loaded:
        fresh_imports.watch("airloop")
    return loaded
