"""Platform lifecycle: start, check and stop the services of a profile, on loopback.

Profiles: ``embedded`` (default: Airflow on SQLite with LocalExecutor, MLflow on SQLite, the model
server; no external services) and ``stack`` (PostgreSQL, Celery on Redis, S3; see ``stack``).
``up`` is idempotent: a healthy platform is left alone; in a partial one, only the services that
are down are started again (what keeps running, with its in-flight tasks, is not touched).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from airloop.platform import airflow_config, health, processes, secrets, stack
from airloop.platform.services import (
    PROFILES,
    bin_path,
    current_profile,
    installation_secrets,
    marker,
    service_argv,
    service_env,
    services,
)
from airloop.settings import Settings


class PlatformError(RuntimeError):
    """The platform could not be started; the message says which service and where its log is."""


def prepare(settings: Settings, profile: str | None = None) -> dict[str, str]:
    """Create the state folders, secrets and airflow.cfg; migrate the metadata database."""
    profile = profile or current_profile(settings)
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
    values = installation_secrets(settings)
    overrides = None
    if profile == "stack":
        from airloop.platform import stack_setup

        config = stack.load_stack()
        try:
            stack_setup.provision_postgres(config, values)
        except stack_setup.SetupError as exc:
            raise PlatformError(str(exc)) from exc
        secrets.write_private(settings.mlflow_dir / "basic_auth.ini",
                              stack.mlflow_auth_ini(config, values))  # fmt: skip
        overrides = stack.airflow_cfg(config, values)
    airflow_config.write(settings, values, overrides)
    _migrate(settings, profile)
    return values


def _migrate(settings: Settings, profile: str) -> None:
    """``airflow db migrate`` and the promotion pool, once per Airflow version and database."""
    from importlib.metadata import version

    where = stack.load_stack().airflow_db if profile == "stack" else "sqlite"
    stamp = settings.airflow_home / f".migrated-{version('apache-airflow-core')}-{where}"
    if stamp.exists() and (profile == "stack" or (settings.airflow_home / "airflow.db").exists()):
        return
    log = settings.logs_dir / "airflow-db-migrate.log"
    with open(log, "ab") as fh:
        done = subprocess.run(
            [bin_path("airflow"), "db", "migrate"],
            env=service_env(settings, profile),
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if done.returncode != 0:
        raise PlatformError(f"`airflow db migrate` failed; see {log}:\n{processes.log_tail(log)}")
    pool = subprocess.run(
        [bin_path("airflow"), "pools", "set", "airloop_promotion", "1", "Serialises promotions"],
        env=service_env(settings, profile),
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
    executor_ready: bool = True  # the embedded scheduler's executor has preloaded and started
    pids: list[int] = field(default_factory=list)
    rss_bytes: int = 0

    @property
    def running(self) -> bool:
        return all(pid is not None for pid in self.services.values())

    @property
    def healthy(self) -> bool:
        comps = self.airflow_components or {}
        return (
            self.running
            and self.mlflow_healthy
            and self.serving_healthy
            and self.executor_ready
            and all(comps.get(p) == "healthy" for p in health.AIRFLOW_PARTS)
        )


def status(settings: Settings) -> Status:
    records = {r.name: r for r in processes.read_records(settings.run_dir)}
    alive = {name: r.pid for name, r in records.items() if processes.record_alive(r)}
    pid_of = {name: alive.get(name) for name in services(settings)}
    pids = processes.platform_pids(list(records.values()), marker(settings))
    return Status(
        services=pid_of,
        airflow_components=health.airflow_components(settings.airflow_url),
        mlflow_healthy=health.mlflow_healthy(settings.mlflow_url),
        serving_healthy=health.serving_healthy(settings.serving_url),
        executor_ready=_executor_ready(settings, pid_of.get("scheduler")),
        pids=pids,
        rss_bytes=processes.rss_bytes(pids),
    )


def _executor_ready(settings: Settings, scheduler_pid: int | None) -> bool:
    """The running embedded scheduler's executor said it is ready (the stack's Celery workers
    are checked through Airflow's health instead)."""
    if current_profile(settings) != "embedded":
        return True
    try:
        return (
            scheduler_pid is not None
            and int(settings.executor_ready_file.read_text()) == scheduler_pid
        )
    except (OSError, ValueError):
        return False


def up(
    settings: Settings,
    timeout_s: float = 300.0,
    progress: Callable[[str], None] = print,
    profile: str | None = None,
) -> Status:
    """Start a profile's services and wait until healthy; return at once if they already are.

    ``profile`` None keeps the profile this state folder last ran (``embedded`` if none).
    """
    running = current_profile(settings)
    current = status(settings)
    profile = profile or running
    if profile not in PROFILES:
        raise PlatformError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if current.pids and profile != running:
        raise PlatformError(
            f"the {running} profile is running from {settings.home}; `airloop down` first"
        )
    if current.healthy:
        progress(f"Airloop is already running ({profile} profile).")
        return current
    if current.pids:
        return _restart_dead(settings, current, profile, timeout_s, progress)
    progress(f"Preparing {settings.home} ({profile} profile: config, secrets, metadata)…")
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "profile").write_text(profile + "\n")
    prepare(settings, profile)
    names = services(settings, profile)
    if profile == "stack" and "s3" not in names:
        _ensure_bucket(settings)  # an external endpoint: it must answer before anything writes
    records = []
    for name in names:
        records.append(start_service(settings, name, profile))
        if name == "s3":
            _ensure_bucket(settings, records[-1])
    progress(f"Started {', '.join(names)}; waiting until healthy (logs: {settings.logs_dir})…")
    return _wait_healthy(settings, records, timeout_s, stop_on_failure=True)


def _restart_dead(
    settings: Settings, current: Status, profile: str, timeout_s: float,
    progress: Callable[[str], None],
) -> Status:  # fmt: skip
    """Start again only the services that are down; the live ones keep their tasks.

    Children that outlived a ``kill -9`` of a dead service's leader (holding its port) are killed
    first. Nothing is stopped on failure: the error names the service.
    """
    records = {r.name: r for r in processes.read_records(settings.run_dir)}
    dead = [name for name, pid in current.services.items() if pid is None]
    progress(f"Restarting what is down: {', '.join(dead) or 'nothing'}; the rest keeps running.")
    started = []
    for name in dead:
        if name in records:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(records[name].pgid, signal.SIGKILL)
        started.append(start_service(settings, name, profile))
        if name == "s3":
            _ensure_bucket(settings, started[-1], stop_on_failure=False)
    return _wait_healthy(settings, started, timeout_s, stop_on_failure=False)


def _wait_healthy(
    settings: Settings, records: list[processes.ProcessRecord], timeout_s: float,
    stop_on_failure: bool,
) -> Status:  # fmt: skip
    """Wait until the platform is healthy; a started service that exits is an error at once."""
    deadline = time.monotonic() + timeout_s
    current = status(settings)
    while time.monotonic() < deadline:
        dead = [r for r in records if not processes.record_alive(r)]
        if dead:
            if stop_on_failure:
                down(settings, progress=lambda _msg: None)
            r = dead[0]
            tail = processes.log_tail(Path(r.log))
            raise PlatformError(f"{r.name} exited during start-up; its log {r.log}:\n{tail}")
        current = status(settings)
        if current.healthy:
            return current
        time.sleep(1.0)
    if stop_on_failure:
        down(settings, progress=lambda _msg: None)
    raise PlatformError(
        f"platform not healthy after {timeout_s:.0f}s (Airflow: {current.airflow_components}, "
        f"MLflow healthy: {current.mlflow_healthy}, model server healthy: "
        f"{current.serving_healthy}, executor ready: {current.executor_ready}); logs in "
        f"{settings.logs_dir}"
        + (
            ""
            if stop_on_failure
            else "; `airloop down` then `airloop up` starts clean if a running service hangs"
        )
    )


def start_service(
    settings: Settings, name: str, profile: str | None = None
) -> processes.ProcessRecord:
    """Start one service of the platform (also to bring back one that died)."""
    log = settings.logs_dir / f"{name}.log"
    argv = service_argv(settings, name, profile)
    return processes.spawn(name, argv, service_env(settings, profile), log, settings.run_dir)


def _ensure_bucket(
    settings: Settings, server: processes.ProcessRecord | None = None,
    stop_on_failure: bool = True,
) -> None:  # fmt: skip
    """Wait for the S3 endpoint (``server``: the local one we just started) and the bucket."""
    from airloop.platform import stack_setup

    alive = (lambda: processes.record_alive(server)) if server else None
    try:
        stack_setup.ensure_bucket(stack.load_stack(), installation_secrets(settings), alive=alive)
    except stack_setup.SetupError as exc:
        if stop_on_failure:
            down(settings, progress=lambda _msg: None)
        where = f"; its log {server.log}:\n{processes.log_tail(Path(server.log))}" if server else ""
        raise PlatformError(f"{exc}{where}") from exc


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
