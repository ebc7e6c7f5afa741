"""Platform commands: ``up``, ``down`` and ``status`` (the platform, or one pipeline)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from airloop.cli import models
from airloop.cli.common import FAILED, OK
from airloop.settings import Settings


def print_status(settings: Settings, as_json: bool) -> int:
    """The platform's services, health, memory and URLs; exit 0 only when it is healthy."""
    from airloop.platform import embedded, secrets

    st = embedded.status(settings)
    if as_json:
        print(
            json.dumps(
                {
                    "home": str(settings.home),
                    "profile": embedded.current_profile(settings),
                    "running": st.running,
                    "healthy": st.healthy,
                    "services": st.services,
                    "airflow_components": st.airflow_components,
                    "mlflow_healthy": st.mlflow_healthy,
                    "serving_healthy": st.serving_healthy,
                    "executor_ready": st.executor_ready,
                    "serving_url": settings.serving_url,
                    "airflow_url": settings.airflow_url,
                    "mlflow_url": settings.mlflow_url,
                    "processes": len(st.pids),
                    "rss_bytes": st.rss_bytes,
                    "logs": str(settings.logs_dir),
                },
                indent=2,
            )
        )
        return OK if st.healthy else FAILED
    for name, pid in st.services.items():
        print(
            f"  {name:<16} {'running, pid ' + str(pid) if pid else 'DOWN (airloop up restarts it)'}"
        )
    print(f"  Airflow health: {st.airflow_components or 'not answering'}")
    print(f"  MLflow health:  {'ok' if st.mlflow_healthy else 'not answering'}")
    print(f"  Model server:   {'ok' if st.serving_healthy else 'not answering'}")
    print(f"  Task executor:  {'ready' if st.executor_ready else 'starting (preloading)'}")
    print(f"  {len(st.pids)} processes, {st.rss_bytes / 2**30:.2f} GiB resident")
    profile = embedded.current_profile(settings)
    print(f"  Profile:        {profile}")
    if st.healthy:
        values = secrets.load_or_create(settings.home / "secrets.json")
        login = values["admin_password"]
        print(
            f"\nAirflow UI  {settings.airflow_url}  (user {secrets.ADMIN_USER}, password {login})"
        )
        if profile == "stack":
            print(f"MLflow UI   {settings.mlflow_url}  (user admin, password "
                  f"{values['mlflow_admin_password']})")  # fmt: skip
            print(f"Model API   {settings.serving_url}/v1/models  (Authorization: Bearer "
                  f"{values['serving_token']})")  # fmt: skip
        else:
            print(f"MLflow UI   {settings.mlflow_url}")
            print(f"Model API   {settings.serving_url}/v1/models")
        print(f"Logs        {settings.logs_dir}")
    return OK if st.healthy else FAILED


def up(args: argparse.Namespace, settings: Settings) -> int:
    """Start the platform, wait until it is healthy, then show its status."""
    from airloop.platform import embedded

    try:
        embedded.up(settings, timeout_s=args.timeout, profile=args.profile)
    except (embedded.PlatformError, ValueError) as exc:
        print(f"airloop up failed: {exc}", file=sys.stderr)
        return FAILED
    print("Airloop is up.")
    return print_status(settings, as_json=False)


def down(_args: argparse.Namespace, settings: Settings) -> int:
    """Stop every process the platform started; exit 1 if any is left."""
    from airloop.platform import embedded

    return OK if not embedded.down(settings).left else FAILED


def status(args: argparse.Namespace, settings: Settings) -> int:
    """``status``: the platform, or with a pipeline name that pipeline."""
    if args.pipeline:
        return models.print_pipeline_status(args, settings)
    return print_status(settings, as_json=args.json)


def add_commands(sub: Any) -> None:
    """Add ``up``, ``down`` and ``status`` to the subparsers ``sub``."""
    p = sub.add_parser("up", help="start the embedded platform and wait until it is healthy")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (default 300)")
    p.add_argument(
        "--profile",
        choices=("embedded", "stack"),
        help="embedded (SQLite, LocalExecutor; the default) or stack (PostgreSQL, Celery on "
        "Redis, MLflow on PostgreSQL + S3); default: the running one, else embedded",
    )
    p.set_defaults(func=up)
    p = sub.add_parser("down", help="stop every process the platform started")
    p.set_defaults(func=down)
    p = sub.add_parser("status", help="the platform (services, health, memory, URLs) or a pipeline")
    p.add_argument("pipeline", nargs="?", help="show this pipeline's champion, versions, ledger")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=status)
