"""What each service of a profile runs and with which environment (no side effects)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from airloop.platform import processes, secrets, stack
from airloop.settings import Settings

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer", "mlflow", "model-server")
PROFILES = ("embedded", "stack")


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def marker(settings: Settings) -> str:
    return str(settings.home)


def current_profile(settings: Settings) -> str:
    """The profile this state folder was last started with (``embedded`` if never)."""
    path = settings.home / "profile"
    return path.read_text().strip() if path.exists() else "embedded"


def services(settings: Settings, profile: str | None = None) -> tuple[str, ...]:
    if (profile or current_profile(settings)) == "stack":
        return stack.services(stack.load_stack())
    return SERVICES


def installation_secrets(settings: Settings) -> dict[str, str]:
    return secrets.load_or_create(settings.home / "secrets.json")


def service_env(settings: Settings, profile: str | None = None) -> dict[str, str]:
    """Environment shared by every service and, through the scheduler, every task."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        PATH=f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}",  # standalone-style `airflow` lookups
        AIRFLOW_HOME=str(settings.airflow_home),
        AIRFLOW_CONFIG=str(settings.airflow_home / "airflow.cfg"),
        AIRLOOP_HOME=str(settings.home),
        AIRLOOP_PROJECT_ROOT=str(settings.project_root),
        MLFLOW_TRACKING_URI=settings.mlflow_url,
        AIRLOOP_MLFLOW_ARTIFACTS=(settings.mlflow_dir / "artifacts").as_uri(),
        # MLflow 3's GenAI job runner starts ~8 worker processes (~1.5 GB) we never use.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",  # tqdm bars fill service and task logs
        GIT_PYTHON_REFRESH="quiet",
        PYTHONUNBUFFERED="1",
    )
    env[processes.MARKER_VAR] = marker(settings)
    if (profile or current_profile(settings)) == "stack":
        env.pop("AIRLOOP_MLFLOW_ARTIFACTS")  # the server's proxied artifact store (S3) instead
        env.update(stack.env(settings, stack.load_stack(), installation_secrets(settings)))
    return env


def use_client_env(settings: Settings) -> None:
    """Let this process (CLI, tests) reach the stack's stores as its tasks do: the tracking
    server with credentials and the lake on S3. No-op for the embedded profile."""
    if current_profile(settings) != "stack":
        return
    # Every S3 access logs at INFO which credentials it used (to stdout): not for CLI output.
    os.environ.setdefault("AIRFLOW__LOGGING__NAMESPACE_LEVELS", "airflow.providers.amazon=WARNING")
    wanted = ("MLFLOW_", "AIRLOOP_LAKE_URI", "AIRFLOW_CONN_AWS_DEFAULT", "AWS_")
    for key, value in service_env(settings, "stack").items():
        if key.startswith(wanted) and not key.startswith("MLFLOW_AUTH_"):
            os.environ.setdefault(key, value)


def service_argv(settings: Settings, name: str, profile: str | None = None) -> list[str]:
    if (profile or current_profile(settings)) == "stack":
        argv = stack.service_argv(
            settings,
            stack.load_stack(),
            installation_secrets(settings),
            name,
            Path(sys.executable).parent,
        )
        if argv:
            return argv
    if name == "mlflow":
        mlflow_dir = settings.mlflow_dir
        # Clients write artifacts straight to the default root (no proxy), so tasks and the CLI
        # can also use the store without the server: one artifact location either way.
        return [
            *(bin_path("mlflow"), "server", "--host", settings.host),
            *("--port", str(settings.mlflow_port), "--workers", "1"),
            *("--backend-store-uri", f"sqlite:///{mlflow_dir / 'mlflow.db'}"),
            *("--default-artifact-root", (mlflow_dir / "artifacts").as_uri()),
            "--no-serve-artifacts",
        ]
    if name == "model-server":
        return [sys.executable, "-m", "airloop.serving", "--host", settings.host,
                "--port", str(settings.serving_port)]  # fmt: skip
    return [bin_path("airflow"), name]
