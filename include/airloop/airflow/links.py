"""Evidence links: from a task in the Airflow UI to the MLflow run, model version and reports.

A task pushes ``{label: url}`` under the XCom key ``airloop_links`` (:func:`push_links`). The
plugin ``plugins/airloop_links.py`` registers :data:`EVIDENCE_LINKS` for TaskFlow operators; on
Airflow 3 the API server attaches plugin links when it deserializes a DAG and calls
``get_link`` for ``/taskInstances/{task_id}/links``, which reads that XCom from the metadata DB.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.providers.standard.decorators.branch_python import _BranchPythonDecoratedOperator
from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.providers.standard.decorators.short_circuit import _ShortCircuitDecoratedOperator
from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

log = logging.getLogger(__name__)

XCOM_KEY = "airloop_links"
MLFLOW_RUN = "MLflow run"
MODEL_VERSION = "Model version"
EVIDENTLY_REPORT = "Evidently report"
DATA_DOCS = "Data Docs"
# The serialized DAG carries only task type + module, so plugin links attach per exact class:
# the in-process TaskFlow decorators (@task, @task.branch, @task.short_circuit).
TASKFLOW_OPERATORS: list[type] = [
    _PythonDecoratedOperator,
    _BranchPythonDecoratedOperator,
    _ShortCircuitDecoratedOperator,
]


def push_links(context: Mapping[str, Any], links: Mapping[str, str | None]) -> None:
    """Push the non-empty links under ``airloop_links`` (merged with earlier pushes); log each."""
    kept = {label: url for label, url in links.items() if url}
    if not kept:
        return
    for label, url in kept.items():
        log.info("Evidence: %s: %s", label, url)
        if label not in {link.name for link in EVIDENCE_LINKS}:
            log.warning("Evidence link %r has no button in the Airflow UI (task log only)", label)
        if not url.startswith(("http://", "https://")):
            # The Airflow 3 UI drops non-http(s) links (e.g. file://) instead of rendering them.
            log.warning("Evidence link %r is not http(s); the Airflow UI will not show it", label)
    ti = context["ti"]
    earlier = ti.xcom_pull(task_ids=ti.task_id, key=XCOM_KEY)
    ti.xcom_push(key=XCOM_KEY, value={**(earlier if isinstance(earlier, dict) else {}), **kept})


def mlflow_ui_base() -> str | None:
    """The MLflow UI root: ``AIRLOOP_MLFLOW_UI_URL``, else an http(s) ``MLFLOW_TRACKING_URI``."""
    explicit = os.environ.get("AIRLOOP_MLFLOW_UI_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    tracking = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if tracking.startswith(("http://", "https://")):
        return tracking.rstrip("/")
    return None  # a sqlite/file store has no UI to link to


def mlflow_run_url(experiment_id: str | int, run_id: str) -> str | None:
    """MLflow UI run page (React hash route ``/experiments/:experimentId/runs/:runUuid``)."""
    base = mlflow_ui_base()
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}" if base else None


def mlflow_model_version_url(name: str, version: str | int) -> str | None:
    """MLflow UI model version page (hash route ``/models/:modelName/versions/:version``)."""
    base = mlflow_ui_base()
    # The UI itself builds this route with encodeURIComponent(name).
    return f"{base}/#/models/{quote(name, safe='')}/versions/{version}" if base else None


def stored_links(ti_key: TaskInstanceKey) -> dict[str, str]:
    """The ``airloop_links`` XCom of one task instance, read from the metadata DB (API server)."""
    # Core imports stay lazy: this module is also imported by workers and DAG parsing.
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(
        key=XCOM_KEY,
        run_id=ti_key.run_id,
        dag_ids=ti_key.dag_id,
        task_ids=ti_key.task_id,
        map_indexes=ti_key.map_index,
    ).with_only_columns(XComModel.value)
    with create_session() as session:
        row = session.execute(query).first()
    value = XComModel.deserialize_value(row) if row else None
    if not isinstance(value, dict):  # absent or malformed: no link rather than an API error
        return {}
    return {str(label): str(url) for label, url in value.items() if url}


class EvidenceLink(BaseOperatorLink):
    """An extra-link button whose URL is one label of the task's ``airloop_links`` XCom."""

    label: ClassVar[str] = ""
    operators: ClassVar[list[type]] = TASKFLOW_OPERATORS

    @property
    def name(self) -> str:
        return self.label

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        """The URL, or "" (the UI then shows no button) when the task pushed none."""
        return stored_links(ti_key).get(self.label, "")


class MlflowRunLink(EvidenceLink):
    label = MLFLOW_RUN


class ModelVersionLink(EvidenceLink):
    label = MODEL_VERSION


class EvidentlyReportLink(EvidenceLink):
    label = EVIDENTLY_REPORT


class DataDocsLink(EvidenceLink):
    label = DATA_DOCS


EVIDENCE_LINKS: list[EvidenceLink] = [
    MlflowRunLink(),
    ModelVersionLink(),
    EvidentlyReportLink(),
    DataDocsLink(),
]
