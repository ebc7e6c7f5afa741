"""Where Airloop keeps its local state and which loopback ports it uses.

Everything comes from environment variables so the same code runs on a laptop, in CI and in the
production stack. Cheap to import: standard library only (DAG files may import it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# include/airloop/settings.py → the repository root (editable install or source checkout).
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one Airloop installation."""

    project_root: Path
    home: Path
    host: str
    airflow_port: int
    mlflow_port: int
    serving_port: int
    parallelism: int

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def logs_dir(self) -> Path:
        """The one folder every platform process logs into."""
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def executor_ready_file(self) -> Path:
        """Written by the embedded scheduler's executor once it can run tasks: its pid."""
        return self.run_dir / "executor.ready"

    @property
    def mlflow_dir(self) -> Path:
        return self.home / "mlflow"

    @property
    def lake_uri(self) -> str:
        return os.environ.get("AIRLOOP_LAKE_URI") or (self.home / "lake").as_uri()

    @property
    def airflow_url(self) -> str:
        return f"http://{self.host}:{self.airflow_port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.host}:{self.mlflow_port}"

    @property
    def serving_url(self) -> str:
        return f"http://{self.host}:{self.serving_port}"

    @property
    def dags_folder(self) -> Path:
        return self.project_root / "dags"

    @property
    def plugins_folder(self) -> Path:
        return self.project_root / "plugins"


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {key}={raw!r} is not an integer") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    root = Path(env.get("AIRLOOP_PROJECT_ROOT") or _SOURCE_ROOT).resolve()
    home = Path(env.get("AIRLOOP_HOME") or root / ".airloop").resolve()
    cores = os.cpu_count() or 2
    return Settings(
        project_root=root,
        home=home,
        host="127.0.0.1",
        airflow_port=_int(env, "AIRLOOP_AIRFLOW_PORT", 8080),
        mlflow_port=_int(env, "AIRLOOP_MLFLOW_PORT", 5000),
        serving_port=_int(env, "AIRLOOP_SERVING_PORT", 5001),
        # Two task slots per core: ML tasks are CPU-bound, but many tasks wait on I/O or defer.
        parallelism=_int(env, "AIRLOOP_PARALLELISM", max(2, 2 * cores)),
    )
