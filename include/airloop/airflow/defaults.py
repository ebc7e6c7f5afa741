"""Defaults every Airloop DAG shares."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

OWNER = "airloop"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def tags(stage: str, pipeline: str | None = None) -> list[str]:
    """Tags ``airloop``, ``stage:<stage>`` and ``pipeline:<name>`` for filtering in the UI."""
    return ["airloop", f"stage:{stage}"] + ([f"pipeline:{pipeline}"] if pipeline else [])
