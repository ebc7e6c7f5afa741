"""Defaults every Airloop DAG shares."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

OWNER = "airloop"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    # Overridable so tests exercise retries without waiting (AIRLOOP_RETRY_DELAY_S=1).
    "retry_delay": timedelta(seconds=float(os.environ.get("AIRLOOP_RETRY_DELAY_S", "30"))),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def tags(stage: str, pipeline: str | None = None) -> list[str]:
    """Tags ``airloop``, ``stage:<stage>`` and ``pipeline:<name>`` for filtering in the UI."""
    return ["airloop", f"stage:{stage}"] + ([f"pipeline:{pipeline}"] if pipeline else [])
