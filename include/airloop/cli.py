"""The ``airloop`` command. Exit codes: 0 success, 1 failure, 2 usage error."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
import threading
from collections.abc import Sequence

from airloop import cli_data, cli_loop, cli_models, cli_scaffold
from airloop.settings import Settings, load_settings


def _print_status(settings: Settings, as_json: bool) -> int:
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
        return 0 if st.healthy else 1
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
    return 0 if st.healthy else 1


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from airloop.platform import embedded

    try:
        embedded.up(settings, timeout_s=args.timeout, profile=args.profile)
    except (embedded.PlatformError, ValueError) as exc:
        print(f"airloop up failed: {exc}", file=sys.stderr)
        return 1
    print("Airloop is up.")
    return _print_status(settings, as_json=False)


def _down(_args: argparse.Namespace, settings: Settings) -> int:
    from airloop.platform import embedded

    return 0 if not embedded.down(settings).left else 1


def _status(args: argparse.Namespace, settings: Settings) -> int:
    if args.pipeline:
        return cli_models.print_pipeline_status(args, settings)
    return _print_status(settings, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airloop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="start the embedded platform and wait until it is healthy")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (default 300)")
    p.add_argument(
        "--profile",
        choices=("embedded", "stack"),
        help="embedded (SQLite, LocalExecutor; the default) or stack (PostgreSQL, Celery on "
        "Redis, MLflow on PostgreSQL + S3); default: the running one, else embedded",
    )
    p.set_defaults(func=_up)
    p = sub.add_parser("down", help="stop every process the platform started")
    p.set_defaults(func=_down)
    p = sub.add_parser("status", help="the platform (services, health, memory, URLs) or a pipeline")
    p.add_argument("pipeline", nargs="?", help="show this pipeline's champion, versions, ledger")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_status)
    cli_data.add_commands(sub)
    cli_models.add_commands(sub)
    cli_loop.add_commands(sub)
    cli_scaffold.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.func is not _up:
            from airloop.platform.services import use_client_env

            use_client_env(settings)  # the stack profile's stores, as tasks see them
    except ValueError as exc:
        print(f"airloop: {exc}", file=sys.stderr)
        return 2
    return cli_data.run(args.func, args, settings)


def console_main() -> None:
    """The ``airloop`` command: :func:`main`, then a quick exit.

    Tearing the interpreter down after MLflow, scikit-learn and Airflow's SDK were imported
    takes ~1.5 s here (measured: module and object teardown), which a finished command made its
    user wait for. What a normal exit does first still happens, in its order: threading's exit
    hooks (they stop thread pools, whose idle workers would otherwise wait forever), the join of
    running threads, the exit handlers (logging's flush among them), then the output's flush.
    """
    code = main()
    # The interpreter's own exit steps; there is no public equivalent. Joining threads by hand
    # is not enough: an idle pool worker (asyncio's default executor) ends only after the hook.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console_main()
