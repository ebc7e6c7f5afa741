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
