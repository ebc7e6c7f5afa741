"""Every DAG file loads through Airflow's DagBag; every DAG has an owner, tags and retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from _support import REPO

DAG_FILES = sorted((REPO / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_there_are_dag_files() -> None:
    assert DAG_FILES, "dags/ holds no DAG files"


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}, dagbag.import_errors


def test_every_file_defines_a_dag(dagbag) -> None:
    files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    missing = [f.name for f in DAG_FILES if f.name not in files_with_dags]
    assert not missing, f"DAG files that define no DAG: {missing}"


def test_every_dag_has_owner_tags_and_retries(dagbag) -> None:
    problems = []
    for dag_id, dag in dagbag.dags.items():
        if not dag.tags:
            problems.append(f"{dag_id}: no tags")
        for t in dag.tasks:
            if not t.owner or t.owner == "airflow":
                problems.append(f"{dag_id}.{t.task_id}: no owner (got {t.owner!r})")
            if not t.retries and not getattr(t, "_airloop_no_retry", False):
                problems.append(f"{dag_id}.{t.task_id}: retries={t.retries}")
    assert not problems, "\n".join(problems)


def test_dag_ids_follow_the_naming_convention(dagbag) -> None:
    bad = [d for d in dagbag.dags if "__" not in d]
    assert not bad, f"DAG ids must be <pipeline-or-area>__<stage>: {bad}"


def test_a_task_process_builds_only_its_own_dag(monkeypatch) -> None:
    """Airflow names the DAG a task process parses for; the factory builds just that one."""
    # Set through monkeypatch: Airflow's own context manager leaves the variables set after it
    # exits, and every later DagBag in this process would then parse for that DAG only.
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    from airloop.airflow.factory import build_pipeline_dags

    assert len(build_pipeline_dags("bike_demand")) == 6  # the dag-processor: all of them
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "bike_demand__score")
    assert list(build_pipeline_dags("bike_demand")) == ["bike_demand__score"]
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "not_ours")
    assert len(build_pipeline_dags("bike_demand")) == 6


def test_tasks_returning_a_dict_push_one_xcom(dagbag) -> None:
    """TaskFlow would infer multiple_outputs from a dict return type and push every key too:
    an API call and a database write per key, for XComs nothing reads."""
    inferred = [f"{dag_id}.{t.task_id}" for dag_id, dag in dagbag.dags.items() for t in dag.tasks
                if getattr(t, "multiple_outputs", False)]  # fmt: skip
    assert not inferred, inferred
