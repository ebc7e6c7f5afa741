"""Test-wide setup: an isolated Airflow home so tests never touch a running platform."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from _support import REPO

# Must happen before anything imports airflow: Airflow reads its config at import time.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airloop-test-airflow-"))
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    GIT_PYTHON_REFRESH="quiet",
    AIRLOOP_RETRY_DELAY_S="1",
)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def venv_python() -> str:
    return sys.executable


@pytest.fixture
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private AIRLOOP_HOME (lake) and GX context for one test."""
    from _support import copy_gx_context

    monkeypatch.setenv("AIRLOOP_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("AIRLOOP_GX_DIR", str(copy_gx_context(tmp_path / "gx")))
    monkeypatch.delenv("AIRLOOP_LAKE_URI", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the test Airflow home's SQLite database once per session (for dag.test())."""
    import subprocess

    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run(
        [str(airflow), "db", "migrate"], check=True, capture_output=True, env=dict(os.environ)
    )
    subprocess.run(
        [str(airflow), "pools", "set", "airloop_promotion", "1", "test"],
        check=True,
        capture_output=True,
        env=dict(os.environ),
    )
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory):
    """The stack's own S3 server (SeaweedFS, objects on disk) on loopback, for the session."""
    from _seaweed import seaweed_server

    for server in seaweed_server(tmp_path_factory.mktemp("s3")):
        server.start()
        yield server


@pytest.fixture
def s3_lake(s3_endpoint, monkeypatch: pytest.MonkeyPatch):
    """A fresh bucket; the aws_default connection and AIRLOOP_LAKE_URI point at it."""
    import json
    import uuid

    from _seaweed import KEYS

    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    client = s3_endpoint.client()
    client.create_bucket(Bucket=bucket)
    conn = {
        "conn_type": "aws",
        "login": KEYS["s3_access_key"],
        "password": KEYS["s3_secret_key"],
        "extra": {"endpoint_url": s3_endpoint.config.endpoint, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("AIRLOOP_LAKE_URI", f"s3://aws_default@{bucket}/lake")
    return client, bucket


@pytest.fixture
def isolated_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private MLflow store (SQLite + local artifacts) for one test."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("AIRLOOP_MLFLOW_ARTIFACTS", (tmp_path / "mlartifacts").as_uri())
    return uri


def _merge(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and key != "source"  # a source is replaced whole
        out[key] = _merge(base.get(key, {}), value) if nested else value
    return out


def _pipeline_loop(name: str, folder: Path, monkeypatch: pytest.MonkeyPatch):
    """A private copy of the shipped spec ``name``; a loop whose DAGs run with dag.test()."""
    import yaml
    from airflow.dag_processing.dagbag import DagBag

    from airloop.core.lake import Lake
    from airloop.loop import Loop
    from airloop.platform.runner import result_of
    from airloop.settings import load_settings

    spec = yaml.safe_load((REPO / "include" / "pipelines" / f"{name}.yaml").read_text())
    pipelines = folder / "pipelines"
    pipelines.mkdir(exist_ok=True)
    monkeypatch.setenv("AIRLOOP_PIPELINES_DIR", str(pipelines))
    runs: list[str] = []
    bags: dict[str, DagBag] = {}

    def write_spec(changes: dict) -> None:
        (pipelines / f"{name}.yaml").write_text(yaml.safe_dump(_merge(spec, changes)))

    def run_dag(dag_id: str, conf: dict, xcom: tuple[str, ...]):
        # Parsed again per run only if the spec changed since (the factory reads it at parse).
        stamp = str((pipelines / f"{name}.yaml").stat().st_mtime_ns)
        if stamp not in bags:
            bags.clear()
            bags[stamp] = DagBag(dag_folder=str(REPO / "dags" / f"{name}.py"))
        dag = bags[stamp].get_dag(dag_id)
        runs.append(dag_id)
        return result_of(dag.test(run_conf=conf), xcom)

    def make_loop() -> Loop:
        return Loop(load_settings(), name, dag_runner=run_dag)

    lake = Lake(folder / "state" / "lake", name)
    return lake, write_spec, make_loop, runs


@pytest.fixture
def loop_env(airflow_db, isolated_state, isolated_mlflow, monkeypatch):
    """The bike_demand loop on a private lake, MLflow store and pipelines dir (dag.test())."""
    return _pipeline_loop("bike_demand", isolated_state, monkeypatch)


@pytest.fixture
def pipeline_loop(airflow_db, isolated_state, isolated_mlflow, monkeypatch):
    """``pipeline_loop(name)`` → (lake, write_spec, make_loop, runs) for any shipped spec."""
    return lambda name: _pipeline_loop(name, isolated_state, monkeypatch)


# Files whose tests take minutes, longest first (CI durations): with `pytest -n N --dist
# loadfile` a worker takes the next file when it frees up, so starting the longest files first
# keeps one of them from starting last and running alone (the stack file, longest, leads).
_LONG_FILES = (
    "test_chaos.py", "test_stack.py", "test_reliability_data.py", "test_closed_loop.py",
    "test_reliability_faults.py", "test_platform_model_plane.py",
    "test_new_pipeline_chunked.py", "test_cli.py", "test_platform_loop.py",
    "test_new_pipeline_timed.py", "test_churn_example.py", "test_platform_lifecycle.py",
    "test_closed_loop_real_data.py", "test_model_server.py", "test_train_dag.py",
    "test_loop_policy_dags.py",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        if item.path.name in _LONG_FILES:
            return _LONG_FILES.index(item.path.name)
        if item.get_closest_marker("platform"):
            return len(_LONG_FILES)
        return len(_LONG_FILES) + 1

    items.sort(key=rank)  # stable: a file's tests keep their order
