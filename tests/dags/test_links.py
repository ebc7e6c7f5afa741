"""Evidence links: a task's ``airloop_links`` XCom resolves as extra links, as in the API server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

RUN_URL = "http://mlflow.test/#/experiments/1/runs/abc123"
VERSION_URL = "http://mlflow.test/#/models/bike_demand/versions/3"
LINK_NAMES = ["Data Docs", "Evidently report", "MLflow run", "Model version"]

DAG_FILE = f'''
from __future__ import annotations

import pendulum
from airflow.sdk import DAG, get_current_context, task
from airflow.providers.standard.operators.empty import EmptyOperator

from airloop.airflow.links import push_links

with DAG("links__probe", schedule=None, start_date=pendulum.datetime(2024, 1, 1), tags=["t"]):

    @task
    def train() -> None:
        context = get_current_context()
        push_links(context, {{"MLflow run": "{RUN_URL}", "Data Docs": None}})
        push_links(context, {{"Model version": "{VERSION_URL}"}})  # a second push merges

    @task
    def plain() -> int:
        return 1

    @task
    def monitor(day: int) -> None:
        push_links(get_current_context(), {{"Evidently report": f"http://reports.test/{{day}}"}})

    @task.branch
    def route() -> list[str]:
        return ["done"]

    train() >> plain() >> monitor.expand(day=[1, 2]) >> route() >> EmptyOperator(task_id="done")
'''


@pytest.fixture(scope="module")
def probe_run(airflow_db, tmp_path_factory: pytest.TempPathFactory):
    """Parse a tiny DAG from its own folder, serialize it to the test DB, run it with dag.test()."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    folder = tmp_path_factory.mktemp("dags")
    (folder / "links_probe.py").write_text(textwrap.dedent(DAG_FILE))
    DagBundlesManager().sync_bundles_to_db()
    bag = BundleDagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="dags-folder")
    assert bag.import_errors == {}, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)  # dag.test() needs a serialized version in the DB
    dag_run = bag.get_dag("links__probe").test()
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "success", states
    return dag_run


def _api_links(dag_run, task_id: str, map_index: int = -1) -> dict[str, str | None]:
    """Call the API server's handler for GET .../taskInstances/{task_id}/links (auth aside)."""
    from airflow.api_fastapi.core_api.routes.public.extra_links import get_extra_links
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    with create_session() as session:
        response = get_extra_links(
            dag_id=dag_run.dag_id,
            dag_run_id=dag_run.run_id,
            task_id=task_id,
            session=session,
            dag_bag=DBDagBag(),
            map_index=map_index,
        )
    return response.extra_links


def test_pushed_links_resolve_through_the_extra_links_api(probe_run) -> None:
    assert _api_links(probe_run, "train") == {
        "Data Docs": None,  # pushed as None: dropped, so the UI shows no button
        "Evidently report": None,
        "MLflow run": RUN_URL,
        "Model version": VERSION_URL,
    }


def test_each_mapped_task_instance_has_its_own_links(probe_run) -> None:
    for day in (1, 2):
        links = _api_links(probe_run, "monitor", map_index=day - 1)
        assert links["Evidently report"] == f"http://reports.test/{day}"


def test_tasks_without_links_resolve_to_no_url(probe_run) -> None:
    assert _api_links(probe_run, "plain") == dict.fromkeys(LINK_NAMES)
    assert _api_links(probe_run, "route") == dict.fromkeys(LINK_NAMES)  # @task.branch too
    assert _api_links(probe_run, "done") == {}  # classic operators get no evidence buttons


def test_serialized_operator_carries_the_plugin_links(probe_run) -> None:
    """What the UI lists: the deserialized DAG's operator links, plus get_link for one TI."""
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    with create_session() as session:
        dag = DBDagBag().get_dag_for_run(probe_run, session=session)
        task = dag.get_task("train")
        assert task.extra_links == LINK_NAMES
        ti = probe_run.get_task_instance("train", session=session)
        assert task.get_extra_links(ti, "MLflow run") == RUN_URL


def test_url_builders(monkeypatch: pytest.MonkeyPatch) -> None:
    from airloop.airflow import links

    monkeypatch.delenv("AIRLOOP_MLFLOW_UI_URL", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
    assert links.mlflow_ui_base() is None
    assert links.mlflow_run_url("1", "abc") is None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000/")
    assert links.mlflow_run_url("1", "abc") == "http://127.0.0.1:5000/#/experiments/1/runs/abc"
    monkeypatch.setenv("AIRLOOP_MLFLOW_UI_URL", "https://mlflow.example.com")
    assert (
        links.mlflow_model_version_url("bike demand", 3)
        == "https://mlflow.example.com/#/models/bike%20demand/versions/3"
    )


def test_plugin_is_cheap_to_import(repo: Path, venv_python: str) -> None:
    import json
    import subprocess

    probe = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import airloop_links; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [venv_python, "-c", probe, str(repo / "plugins")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    heavy = {"pandas", "sklearn", "mlflow", "great_expectations", "evidently", "scipy", "pyarrow"}
    assert not heavy & set(json.loads(done.stdout.strip().splitlines()[-1]))
