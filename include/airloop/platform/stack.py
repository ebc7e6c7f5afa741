"""The ``stack`` profile: the production stack's services, run natively on one machine.

Airflow metadata on PostgreSQL (its own database and role), CeleryExecutor on Redis with Celery
workers, MLflow server on PostgreSQL (basic auth) with artifacts in S3, the lake on ``s3://``
through the ``aws_default`` connection, and the model server behind a bearer token. The same
DAGs run unchanged: only configuration differs from the embedded profile.

Everything is configured from the environment (defaults fit this machine's loopback services):

- ``AIRLOOP_PG_ADMIN_URL``  a role allowed to create roles and databases (setup only);
- ``AIRLOOP_STACK_NAME``    prefix of databases, roles, Celery queue and bucket (``airloop``);
- ``AIRLOOP_REDIS_URL``     the Celery broker;
- ``AIRLOOP_S3_ENDPOINT``   an S3-compatible endpoint (MinIO, AWS); unset → a local SeaweedFS
  server (``seaweed``) on ``AIRLOOP_S3_PORT`` and the 7 ports after it, objects on disk in the
  state folder, accepting only the installation's generated key;
- ``AIRLOOP_S3_BUCKET``, ``AIRLOOP_S3_ACCESS_KEY``/``AIRLOOP_S3_SECRET_KEY`` for an external S3;
- ``AIRLOOP_CELERY_WORKERS`` (2) and ``AIRLOOP_CELERY_CONCURRENCY`` (2) per worker.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from airloop.platform import seaweed
from airloop.settings import Settings, _int


@dataclass(frozen=True)
class StackConfig:
    """Where the stack's backing services are and how its resources are named."""

    name: str
    pg_admin_url: str
    redis_url: str
    s3_endpoint: str | None  # None → run the local SeaweedFS server
    s3_port: int
    bucket: str
    workers: int
    concurrency: int
    heartbeat_timeout_s: int
    queued_timeout_s: int

    @property
    def airflow_db(self) -> str:
        return f"{self.name}_airflow"

    @property
    def mlflow_db(self) -> str:
        return f"{self.name}_mlflow"

    @property
    def mlflow_auth_db(self) -> str:
        return f"{self.name}_mlflow_auth"

    @property
    def queue(self) -> str:
        return self.name

    @property
    def local_s3(self) -> bool:
        return self.s3_endpoint is None

    @property
    def endpoint(self) -> str:
        return self.s3_endpoint or f"http://127.0.0.1:{self.s3_port}"

    def pg_url(self, role: str, password: str, database: str, driver: str = "psycopg2") -> str:
        """A SQLAlchemy URL on the admin URL's host and port."""
        parts = urlsplit(self.pg_admin_url)
        host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
        return f"postgresql+{driver}://{role}:{quote(password, safe='')}@{host}/{database}"


def load_stack(env: Mapping[str, str] | None = None) -> StackConfig:
    """Read the stack's configuration; ValueError names the variable that is wrong."""
    env = os.environ if env is None else env
    name = env.get("AIRLOOP_STACK_NAME") or "airloop"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
        raise ValueError(
            f"AIRLOOP_STACK_NAME={name!r}: use 1-31 lower-case letters, digits or '_', "
            "starting with a letter (it names databases, roles and a queue)"
        )
    s3_endpoint = env.get("AIRLOOP_S3_ENDPOINT") or None
    s3_port = _int(env, "AIRLOOP_S3_PORT", 5002)
    if s3_endpoint is None:
        seaweed.ports(s3_port)  # ValueError when the port block does not fit
    return StackConfig(
        name=name,
        pg_admin_url=env.get("AIRLOOP_PG_ADMIN_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
        redis_url=env.get("AIRLOOP_REDIS_URL") or "redis://127.0.0.1:6379/0",
        s3_endpoint=s3_endpoint,
        s3_port=s3_port,
        bucket=env.get("AIRLOOP_S3_BUCKET") or f"{name.replace('_', '-')}-lake",
        workers=max(1, _int(env, "AIRLOOP_CELERY_WORKERS", 2)),
        concurrency=max(1, _int(env, "AIRLOOP_CELERY_CONCURRENCY", 2)),
        heartbeat_timeout_s=_int(env, "AIRLOOP_TASK_HEARTBEAT_TIMEOUT", 60),
        queued_timeout_s=_int(env, "AIRLOOP_TASK_QUEUED_TIMEOUT", 600),
    )


def worker_names(stack: StackConfig) -> list[str]:
    return [f"celery-worker-{i}" for i in range(1, stack.workers + 1)]


def services(stack: StackConfig) -> tuple[str, ...]:
    """Service names in start order (the local S3 first: everything else writes to it)."""
    first = ("s3",) if stack.local_s3 else ()
    rest = ("api-server", "scheduler", "dag-processor", "triggerer", "mlflow", "model-server")
    return (*first, *rest, *worker_names(stack))


def s3_credentials(stack: StackConfig, secrets: Mapping[str, str]) -> tuple[str, str]:
    if stack.local_s3:
        return secrets["s3_access_key"], secrets["s3_secret_key"]
    try:
        return os.environ["AIRLOOP_S3_ACCESS_KEY"], os.environ["AIRLOOP_S3_SECRET_KEY"]
    except KeyError as missing:
        raise ValueError(
            f"AIRLOOP_S3_ENDPOINT is set but {missing.args[0]} is not: the stack needs the "
            "credentials of that endpoint"
        ) from None


def env(settings: Settings, stack: StackConfig, secrets: Mapping[str, str]) -> dict[str, str]:
    """Variables every stack service, task and CLI call needs (on top of the common ones)."""
    key, secret = s3_credentials(stack, secrets)
    aws = {
        "conn_type": "aws",
        "login": key,
        "password": secret,
        "extra": {
            "endpoint_url": stack.endpoint,
            "region_name": "us-east-1",
            # Fail within seconds, not minutes, when S3 is unreachable; the task retry covers blips.
            "config_kwargs": {
                "connect_timeout": 5,
                "read_timeout": 30,
                "retries": {"max_attempts": 3, "mode": "standard"},
            },
        },
    }
    values = {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws),
        "AIRLOOP_LAKE_URI": f"s3://aws_default@{stack.bucket}/lake",
        # The MLflow server proxies artifacts (mlflow-artifacts:/) to S3 with its own credentials.
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_S3_ENDPOINT_URL": stack.endpoint,
        "MLFLOW_TRACKING_USERNAME": "admin",
        "MLFLOW_TRACKING_PASSWORD": secrets["mlflow_admin_password"],
        "MLFLOW_AUTH_CONFIG_PATH": str(settings.mlflow_dir / "basic_auth.ini"),
        "MLFLOW_AUTH_ADMIN_PASSWORD": secrets["mlflow_admin_password"],
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets["mlflow_flask_secret"],
        "AIRLOOP_SERVING_TOKEN": secrets["serving_token"],
    }
    # A down tracking server should fail a task in seconds (MLflow's default retries ~2 min).
    for key, default in (("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
                         ("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")):  # fmt: skip
        values[key] = os.environ.get(key, default)
    return values


def service_argv(settings: Settings, stack: StackConfig, secrets: Mapping[str, str], name: str,
                 bin_dir: Path) -> list[str] | None:  # fmt: skip
    """The command of a stack-specific service; None when it is common to both profiles."""
    if name == "s3":  # the S3 key it accepts comes from the service env (AWS_ACCESS_KEY_ID, ...)
        return [
            *(sys.executable, "-m", "airloop.platform.seaweed", "--dir", str(settings.home / "s3")),
            *("--host", settings.host, "--port", str(stack.s3_port)),
        ]
    if name == "mlflow":
        backend = stack.pg_url(stack.mlflow_db, secrets["mlflow_db_password"], stack.mlflow_db)
        return [
            *(str(bin_dir / "mlflow"), "server", "--host", settings.host),
            *("--port", str(settings.mlflow_port), "--workers", "1", "--app-name", "basic-auth"),
            *("--backend-store-uri", backend),
            *("--artifacts-destination", f"s3://{stack.bucket}/mlflow", "--serve-artifacts"),
        ]
    if name.startswith("celery-worker-"):
        index = name.rsplit("-", 1)[1]
        return [
            *(str(bin_dir / "airflow"), "celery", "worker", "--queues", stack.queue),
            *("--concurrency", str(stack.concurrency), "--celery-hostname", f"w{index}@%h"),
            # Workers share this host and its log folder: no per-worker log server needed.
            "--skip-serve-logs",
        ]
    return None


def airflow_cfg(stack: StackConfig, secrets: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The airflow.cfg sections that differ from the embedded profile."""
    conn = stack.pg_url(stack.airflow_db, secrets["airflow_db_password"], stack.airflow_db)
    return {
        "core": {"executor": "CeleryExecutor"},
        "database": {"sql_alchemy_conn": conn},
        "celery": {
            "broker_url": stack.redis_url,
            "result_backend": f"db+{conn}",
            "worker_concurrency": str(stack.concurrency),
            "celery_config_options": "airloop.platform.celery_config.CELERY_CONFIG",
        },
        "operators": {"default_queue": stack.queue},
        # A worker that dies takes its tasks' heartbeats with it; notice that within a minute.
        # A scheduler killed while it hands a task to Celery leaves it "queued" with no message
        # in Redis (the chaos suite found it); it is requeued after task_queued_timeout (Airflow's
        # 600 s by default). Lower it when tasks never wait long for a free worker slot.
        "scheduler": {
            "task_instance_heartbeat_timeout": str(stack.heartbeat_timeout_s),
            "task_queued_timeout": str(stack.queued_timeout_s),
            "task_queued_timeout_check_interval": "30",
        },
    }


def mlflow_auth_ini(stack: StackConfig, secrets: Mapping[str, str]) -> str:
    """MLflow basic auth: users in PostgreSQL; the admin password comes from the environment."""
    auth_db = stack.pg_url(stack.mlflow_db, secrets["mlflow_db_password"], stack.mlflow_auth_db)
    return (
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = {auth_db}\nadmin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
