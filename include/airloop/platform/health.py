"""HTTP health probes of the platform's services (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def get_json(url: str, timeout: float = 3.0) -> Any | None:
    """GET ``url`` and decode JSON; None when the service does not answer (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except (urllib.error.URLError, OSError, ValueError):
        return None


AIRFLOW_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor", "execution_api")


def airflow_components(airflow_url: str) -> dict[str, str] | None:
    """Status per Airflow component from ``/api/v2/monitor/health``, None if unreachable.

    Adds ``execution_api``, the API that task processes talk to. The API server builds it on
    its first request (Cadwyn's versioned routers: ~3 s of CPU here, during which the server
    answers nothing else), so asking once makes that the start-up's cost, not the first task's.
    """
    body = get_json(f"{airflow_url}/api/v2/monitor/health")
    if not isinstance(body, dict):
        return None
    components = {name: str((part or {}).get("status")) for name, part in body.items()}
    execution = get_json(f"{airflow_url}/execution/health", timeout=30.0)
    ready = isinstance(execution, dict) and execution.get("status") == "healthy"
    components["execution_api"] = "healthy" if ready else "unhealthy"
    return components


def airflow_healthy(airflow_url: str) -> bool:
    components = airflow_components(airflow_url)
    return bool(components) and all(components.get(c) == "healthy" for c in AIRFLOW_PARTS)


def serving_healthy(serving_url: str) -> bool:
    body = get_json(f"{serving_url}/health")
    return isinstance(body, dict) and body.get("status") == "ok"


def mlflow_healthy(mlflow_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{mlflow_url}/health", timeout=3.0) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False
