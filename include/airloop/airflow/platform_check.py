"""``airloop__platform_check``: proves the platform end to end.

Scheduler → LocalExecutor worker → lake write → MLflow tracking server.
"""

from __future__ import annotations

import json
import os

from airflow.sdk import DAG, ObjectStoragePath, task

from airloop.airflow.defaults import DEFAULT_ARGS, tags
from airloop.settings import load_settings


@task
def write_lake_heartbeat(run_id: str | None = None) -> str:
    """Write a heartbeat object keyed by the run id into the lake; return its URI."""
    from airloop.core.data.storage import atomic_write_bytes

    target = ObjectStoragePath(load_settings().lake_uri) / "_platform" / "heartbeat"
    path = target / f"{(run_id or 'manual').replace(':', '_')}.json"
    atomic_write_bytes(path, json.dumps({"run_id": run_id}).encode())
    return str(path)


@task
def check_tracking_server() -> str:
    """Fail unless the MLflow tracking server answers ``/health``."""
    import urllib.request

    uri = os.environ.get("MLFLOW_TRACKING_URI", load_settings().mlflow_url)
    if uri.startswith("http"):
        with urllib.request.urlopen(f"{uri}/health", timeout=10) as resp:
            if resp.status != 200:
                raise RuntimeError(f"MLflow at {uri} answered HTTP {resp.status}")
    return uri


def build() -> DAG:
    with DAG(
        dag_id="airloop__platform_check",
        schedule=None,
        default_args=DEFAULT_ARGS,
        tags=tags("platform"),
        doc_md=__doc__,
    ) as dag:
        write_lake_heartbeat(run_id="{{ run_id }}")
        check_tracking_server()
    return dag
