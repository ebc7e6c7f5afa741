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
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True,
                   env=dict(os.environ))  # fmt: skip
    return _AIRFLOW_HOME
