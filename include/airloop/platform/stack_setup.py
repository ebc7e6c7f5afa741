"""One-time setup of the stack's backing services: PostgreSQL roles and databases, the bucket.

Idempotent: existing roles get their password reset to the installation's secret, existing
databases and buckets are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from airloop.platform.stack import StackConfig, s3_credentials

# Outside the lake prefix, so no pipeline ever lists it.
READY_PROBE_KEY = "_airloop/ready-probe"


class SetupError(RuntimeError):
    """A backing service is missing or refused the setup; the message says which and how."""


def provision_postgres(stack: StackConfig, secrets: Mapping[str, str]) -> None:
    """Roles ``<name>_airflow`` / ``<name>_mlflow`` and their databases (MLflow has two: the
    tracking store and basic auth, whose migrations would collide in one database)."""
    import psycopg
    from psycopg import sql

    wanted = [
        (stack.airflow_db, secrets["airflow_db_password"], [stack.airflow_db]),
        (stack.mlflow_db, secrets["mlflow_db_password"], [stack.mlflow_db, stack.mlflow_auth_db]),
    ]
    try:
        conn = psycopg.connect(stack.pg_admin_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise SetupError(
            f"cannot reach PostgreSQL at AIRLOOP_PG_ADMIN_URL={_redacted(stack.pg_admin_url)}: "
            f"{str(exc).strip()}"
        ) from exc
    with conn:
        for role, password, databases in wanted:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            for database in databases:
                found = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
                ).fetchone()
                if not found:
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(database), sql.Identifier(role)
                        )
                    )


def drop_postgres(stack: StackConfig) -> None:
    """Remove the stack's databases and roles (used by tests and ``airloop down --purge``)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(stack.pg_admin_url, autocommit=True, connect_timeout=10) as conn:
        for database in (stack.airflow_db, stack.mlflow_db, stack.mlflow_auth_db):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
        for role in (stack.airflow_db, stack.mlflow_db):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def s3_client(stack: StackConfig, secrets: Mapping[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    key, secret = s3_credentials(stack, secrets)
    return boto3.client(
        "s3",
        endpoint_url=stack.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
    )


def wait_ready(
    stack: StackConfig,
    secrets: Mapping[str, str],
    timeout_s: float = 60,
    alive: Callable[[], bool] | None = None,
) -> float:
    """Poll a signed ListBuckets until the endpoint answers it; returns the seconds waited.

    A refused connection or a 5xx (SeaweedFS opens its S3 port a moment before its filer is
    connected) means "not yet"; a refused key means never. ``alive`` False (the local server's
    process exited) stops the wait at once.
    """
    from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

    client = s3_client(stack, secrets)
    start = time.monotonic()
    while True:
        try:
            client.list_buckets()
            return time.monotonic() - start
        except (EndpointConnectionError, ConnectionClosedError) as exc:
            last: Exception = exc
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) < 500:
                code = exc.response.get("Error", {}).get("Code")
                raise SetupError(f"S3 endpoint {stack.endpoint} refused the stack's key: "
                                 f"{code} ({exc})") from exc  # fmt: skip
            last = exc
        if alive is not None and not alive():
            raise SetupError(f"the local S3 server exited before {stack.endpoint} answered")
        if time.monotonic() - start > timeout_s:
            raise SetupError(f"S3 endpoint {stack.endpoint} does not answer: {last}") from last
        time.sleep(0.25)


def ensure_bucket(
    stack: StackConfig,
    secrets: Mapping[str, str],
    timeout_s: float = 60,
    alive: Callable[[], bool] | None = None,
) -> float:
    """Create the lake bucket unless it exists, once the endpoint answers (``wait_ready``),
    then write and read back a probe object; returns the seconds it all took.

    The probe is what "ready" means for the lake: SeaweedFS answers ListBuckets as soon as its
    filer is up, but until the volume server's first heartbeat reaches the master, writes and
    reads of existing objects fail with InternalError (seen right after a ``kill -9`` restart).
    On real S3 the probe proves the key may write, not only list.
    """
    from botocore.exceptions import ClientError

    start = time.monotonic()
    wait_ready(stack, secrets, timeout_s, alive)
    client = s3_client(stack, secrets)
    try:
        client.head_bucket(Bucket=stack.bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise SetupError(
                f"S3 bucket {stack.bucket!r} at {stack.endpoint}: {code} ({exc})"
            ) from exc
        client.create_bucket(Bucket=stack.bucket)
    while True:
        try:
            client.put_object(Bucket=stack.bucket, Key=READY_PROBE_KEY, Body=b"ready")
            client.get_object(Bucket=stack.bucket, Key=READY_PROBE_KEY)["Body"].read()
            return time.monotonic() - start
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status < 500:
                raise SetupError(
                    f"S3 bucket {stack.bucket!r} at {stack.endpoint} refused a write and "
                    f"read-back of {READY_PROBE_KEY}: {exc}"
                ) from exc
            if alive is not None and not alive():
                raise SetupError(f"the local S3 server exited before {stack.endpoint} "
                                 "took writes") from exc  # fmt: skip
            if time.monotonic() - start > timeout_s:
                raise SetupError(f"S3 bucket {stack.bucket!r} at {stack.endpoint} does not take "
                                 f"writes after {timeout_s:.0f} s: {exc}") from exc  # fmt: skip
        time.sleep(0.25)


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
