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

    from airloop.core.data.lake import Lake
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


# Test tiers are the folders under tests/, most expensive first: platform (starts real
# processes: the embedded platform, the stack profile, the S3 server, the model server, `airloop
# up`), dags (real DAG runs and DagBag loads in-process, or tens of seconds), unit (seconds).
# Each test gets its folder's marker, so `-m unit`, `-m dags` and `-m platform` partition the
# suite; the folder platform is the marker platform ("starts real processes"). Files outside a
# tier folder (a scaffolded project's smoke test) get no tier marker and run last.
TIERS = ("platform", "dags", "unit")
_TESTS = Path(__file__).resolve().parent
# Markers only a test that starts processes carries: a test marked so must be in tests/platform.
_PROCESS_MARKERS = ("platform", "stack", "chaos")


def _tier(path: Path) -> str | None:
    try:
        parts = path.resolve().relative_to(_TESTS).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 and parts[0] in TIERS else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier(item.path)
        if tier is not None:
            item.add_marker(tier)
        if tier in ("dags", "unit"):
            wrong = [m for m in _PROCESS_MARKERS if item.get_closest_marker(m)]
            if wrong:
                raise pytest.UsageError(
                    f"{item.nodeid} is marked {', '.join(wrong)}: move its file to tests/platform"
                )

    # Order, a rule rather than a list: by tier, most expensive first, and within a tier the files
    # with a test marked chaos, then stack, first (the chaos file alone takes ~8 min, the stack
    # file minutes). With `pytest -n N --dist loadfile` a worker takes the next file when it frees
    # up, so the long files start first instead of one starting last and running alone. The key
    # is per file (a file's tests stay together) and the sort is stable: otherwise pytest's order.
    keys: dict[Path, tuple[int, bool, bool]] = {}
    for item in items:
        tier = _tier(item.path)
        rank = TIERS.index(tier) if tier is not None else len(TIERS)
        old = keys.get(item.path, (rank, True, True))
        chaos, stack = item.get_closest_marker("chaos"), item.get_closest_marker("stack")
        keys[item.path] = (rank, old[1] and chaos is None, old[2] and stack is None)
    items.sort(key=lambda item: keys[item.path])
