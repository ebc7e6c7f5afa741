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


def optional_date_param(title: str, description: str) -> Any:
    """A Params-form date field that may stay empty."""
    from airflow.sdk import Param

    return Param(None, type=["null", "string"], format="date", title=title,
                 description=description)  # fmt: skip


def pipeline_dag(
    spec: Any, stage: str, description: str, schedule: Any, params: dict[str, Any],
    default_args: dict[str, Any] | None = None,
) -> Any:  # fmt: skip
    """``DAG(<pipeline>__<stage>)`` with Airloop's start date, tags, defaults and no catchup."""
    from datetime import UTC, datetime

    from airflow.sdk import DAG

    from airloop.airflow.notify import FailureNotifier

    default_args = {
        **(default_args or DEFAULT_ARGS),
        "on_failure_callback": FailureNotifier(spec.name),
    }
    return DAG(
        dag_id=spec.dag_id(stage),
        description=description,
        schedule=schedule,
        start_date=datetime.combine(spec.start_date, datetime.min.time(), tzinfo=UTC),
        catchup=False,
        default_args=default_args,
        tags=tags(stage, spec.name),
        params=params,
    )
