"""Airflow plugin: evidence-link buttons (MLflow run, model version, reports) on TaskFlow tasks.

Kept cheap to import (no pandas/mlflow): every Airflow component loads the plugins folder.
The links themselves live in ``airloop.airflow.links``; see its docstring for the mechanism.
"""

from __future__ import annotations

from airflow.sdk.plugins_manager import AirflowPlugin

from airloop.airflow.links import EVIDENCE_LINKS


class AirloopLinksPlugin(AirflowPlugin):
    """Attaches the evidence links to @task/@task.branch/@task.short_circuit operators."""

    name = "airloop_links"
    # Not global_operator_extra_links: those would add the buttons to every operator of every DAG.
    operator_extra_links = EVIDENCE_LINKS
