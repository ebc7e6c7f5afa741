"""The stack profile as the platform tests drive it: started by ``make up PROFILE=stack``, reached
through its CLI, Airflow's API, PostgreSQL and S3, and stopped whatever happens."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator

from _support import REPO
from airloop.platform import embedded, processes, stack, stack_setup
from airloop.platform.rest import AirflowClient
from airloop.settings import load_settings

AIRLOOP = str(REPO / ".venv" / "bin" / "airloop")


class StackUnderTest:
    """A running stack's handles, from the environment it was started with."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.settings, self.config = load_settings(env), stack.load_stack(env)
        self.secrets = json.loads((self.settings.home / "secrets.json").read_text())
        self.client = AirflowClient(self.settings.airflow_url, "admin",
                                    self.secrets["admin_password"])  # fmt: skip

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([AIRLOOP, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip

    def sql(self, database: str, query: str) -> list[tuple]:
        import psycopg

        url = self.config.pg_admin_url.rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(url) as conn:
            return conn.execute(query).fetchall()

    def keys(self, prefix: str = "") -> list[str]:
        s3 = stack_setup.s3_client(self.config, self.secrets)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket,
                                                               Prefix=prefix)  # fmt: skip
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def record(self, name: str) -> processes.ProcessRecord:
        return {r.name: r for r in processes.read_records(self.settings.run_dir)}[name]


@contextlib.contextmanager
def running_stack(env: dict[str, str]) -> Iterator[None]:
    """``make up PROFILE=stack`` with ``env``; on exit ``make down`` and any leftover process."""
    up = subprocess.run(["make", "-C", str(REPO), "up", "PROFILE=stack"], env=env,
                        capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    settings = load_settings(env)
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield
    finally:
        subprocess.run(["make", "-C", str(REPO), "down"], env=env, capture_output=True,
                       timeout=300, check=False)  # fmt: skip
        processes.stop_all(processes.read_records(settings.run_dir), embedded.marker(settings))
