"""The embedded profile: Airflow (SQLite, LocalExecutor), MLflow and the model server, on loopback.

``up`` is idempotent: a healthy platform is left alone; a partial one is stopped and restarted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from airloop.platform import airflow_config, health, processes, secrets
from airloop.settings import Settings

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer", "mlflow", "model-server")


class PlatformError(RuntimeError):
    """The platform could not be started; the message says which service and where its log is."""


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def marker(settings: Settings) -> str:
    return str(settings.home)


def service_env(settings: Settings) -> dict[str, str]:
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
        GIT_PYTHON_REFRESH="quiet",
        PYTHONUNBUFFERED="1",
    )
    env[processes.MARKER_VAR] = marker(settings)
    return env


def service_argv(settings: Settings, name: str) -> list[str]:
    if name == "mlflow":
        mlflow_dir = settings.mlflow_dir
        # Clients write artifacts straight to the default root (no proxy), so tasks and the CLI
        # can also use the store without the server: one artifact location either way.
        return [
            *(_bin("mlflow"), "server", "--host", settings.host),
            *("--port", str(settings.mlflow_port), "--workers", "1"),
            *("--backend-store-uri", f"sqlite:///{mlflow_dir / 'mlflow.db'}"),
            *("--default-artifact-root", (mlflow_dir / "artifacts").as_uri()),
            "--no-serve-artifacts",
        ]
    if name == "model-server":
        return [sys.executable, "-m", "airloop.serving", "--host", settings.host,
                "--port", str(settings.serving_port)]  # fmt: skip
    return [_bin("airflow"), name]


def prepare(settings: Settings) -> dict[str, str]:
    """Create the state folders, secrets and airflow.cfg; migrate the metadata database."""
    for folder in (
        settings.home,
        settings.airflow_home,
        settings.logs_dir,
        settings.run_dir,
        settings.mlflow_dir / "artifacts",
        settings.home / "lake",
    ):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)
    values = secrets.load_or_create(settings.home / "secrets.json")
    airflow_config.write(settings, values)
    _migrate(settings)
    return values


def _migrate(settings: Settings) -> None:
    """``airflow db migrate`` and the promotion pool, once per Airflow version."""
    from importlib.metadata import version

    stamp = settings.airflow_home / f".migrated-{version('apache-airflow-core')}"
    if stamp.exists() and (settings.airflow_home / "airflow.db").exists():
        return
    log = settings.logs_dir / "airflow-db-migrate.log"
    with open(log, "ab") as fh:
        done = subprocess.run(
            [_bin("airflow"), "db", "migrate"],
            env=service_env(settings),
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if done.returncode != 0:
        raise PlatformError(f"`airflow db migrate` failed; see {log}:\n{_tail(log)}")
    pool = subprocess.run(
        [_bin("airflow"), "pools", "set", "airloop_promotion", "1", "Serialises promotions"],
        env=service_env(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    if pool.returncode != 0:
        raise PlatformError(f"cannot create the airloop_promotion pool: {pool.stderr[-2000:]}")
    stamp.touch()


@dataclass
class Status:
    """What is running, whether it answers, and what it costs."""

    services: dict[str, int | None]
    airflow_components: dict[str, str] | None
    mlflow_healthy: bool
    serving_healthy: bool = False
    pids: list[int] = field(default_factory=list)
    rss_bytes: int = 0

    @property
    def running(self) -> bool:
        return all(pid is not None for pid in self.services.values())

    @property
    def healthy(self) -> bool:
        comps = self.airflow_components or {}
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return (
            self.running
            and self.mlflow_healthy
            and self.serving_healthy
            and all(comps.get(p) == "healthy" for p in parts)
        )


def status(settings: Settings) -> Status:
    records = {r.name: r for r in processes.read_records(settings.run_dir)}
    services = {
        name: records[name].pid
        if name in records and processes.record_alive(records[name])
        else None
        for name in SERVICES
    }
    pids = processes.platform_pids(list(records.values()), marker(settings))
    return Status(
        services=services,
        airflow_components=health.airflow_components(settings.airflow_url),
        mlflow_healthy=health.mlflow_healthy(settings.mlflow_url),
        serving_healthy=health.serving_healthy(settings.serving_url),
        pids=pids,
        rss_bytes=processes.rss_bytes(pids),
    )


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def up(
    settings: Settings, timeout_s: float = 300.0, progress: Callable[[str], None] = print
) -> Status:
    """Start everything and wait until healthy; return immediately if it already is."""
    current = status(settings)
    if current.healthy:
        progress("Airloop is already running.")
        return current
    if current.pids:
        progress("Found a partial platform; stopping it before a clean start.")
        down(settings, progress=progress)
    progress(f"Preparing {settings.home} (config, secrets, metadata database)…")
    prepare(settings)
    env = service_env(settings)
    records = []
    for name in SERVICES:
        log = settings.logs_dir / f"{name}.log"
        records.append(
            processes.spawn(name, service_argv(settings, name), env, log, settings.run_dir)
        )
    progress(f"Started {', '.join(SERVICES)}; waiting until healthy (logs: {settings.logs_dir})…")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dead = [r for r in records if not processes.record_alive(r)]
        if dead:
            down(settings, progress=lambda _msg: None)
            r = dead[0]
            raise PlatformError(
                f"{r.name} exited during start-up; its log {r.log}:\n{_tail(Path(r.log))}"
            )
        current = status(settings)
        if current.healthy:
            return current
        time.sleep(1.0)
    down(settings, progress=lambda _msg: None)
    raise PlatformError(
        f"platform not healthy after {timeout_s:.0f}s (Airflow: {current.airflow_components}, "
        f"MLflow healthy: {current.mlflow_healthy}, model server healthy: "
        f"{current.serving_healthy}); logs in {settings.logs_dir}"
    )


def down(settings: Settings, progress: Callable[[str], None] = print) -> processes.StopReport:
    """Stop every process this installation started: TERM the groups, wait, then KILL."""
    records = processes.read_records(settings.run_dir)
    report = processes.stop_all(records, marker(settings))
    for record in records:
        processes.forget(settings.run_dir, record.name)
    if report.left:
        progress(f"Could not stop processes {report.left}.")
    else:
        progress(
            f"Stopped {report.stopped_by_term} processes with TERM, {report.killed} with KILL."
        )
    return report
