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


def airflow_components(airflow_url: str) -> dict[str, str] | None:
    """Status per Airflow component from ``/api/v2/monitor/health``, None if unreachable."""
    body = get_json(f"{airflow_url}/api/v2/monitor/health")
    if not isinstance(body, dict):
        return None
    return {name: str((part or {}).get("status")) for name, part in body.items()}


def airflow_healthy(airflow_url: str) -> bool:
    components = airflow_components(airflow_url)
    wanted = {"metadatabase", "scheduler", "triggerer", "dag_processor"}
    return bool(components) and all(components.get(c) == "healthy" for c in wanted)


def serving_healthy(serving_url: str) -> bool:
    body = get_json(f"{serving_url}/health")
    return isinstance(body, dict) and body.get("status") == "ok"


def mlflow_healthy(mlflow_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{mlflow_url}/health", timeout=3.0) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False
