"""A real SeaweedFS S3 server for tests, started as the stack starts it.

``python -m airloop.platform.seaweed`` in its own session, with the S3 key it accepts in its
environment, on a free block of loopback ports. Used by the local-S3 tests and by the
``s3_endpoint`` fixture, so every ``s3://`` test runs against the server the stack runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _support import free_port_block
from airloop.platform import seaweed, stack, stack_setup

KEYS = {"s3_access_key": "airlooptest", "s3_secret_key": "s3cret-for-tests-only"}


@dataclass
class Server:
    root: Path
    port: int
    proc: subprocess.Popen | None = None

    @property
    def config(self) -> stack.StackConfig:
        return stack.load_stack({"AIRLOOP_S3_PORT": str(self.port), "AIRLOOP_STACK_NAME": "t"})

    def start(self) -> float:
        """Start and wait until the bucket takes a write and a read; returns the seconds it took."""
        env = {**os.environ, "AWS_ACCESS_KEY_ID": KEYS["s3_access_key"],
               "AWS_SECRET_ACCESS_KEY": KEYS["s3_secret_key"]}  # fmt: skip
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airloop.platform.seaweed", "--dir", str(self.root),
             "--port", str(self.port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        alive = lambda: self.proc.poll() is None  # noqa: E731
        return stack_setup.ensure_bucket(self.config, KEYS, timeout_s=90, alive=alive)

    def client(self, secret: str | None = None, signed: bool = True):
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        if signed and secret is None:
            return stack_setup.s3_client(self.config, KEYS)
        return boto3.client(
            "s3", endpoint_url=self.config.endpoint, region_name="us-east-1",
            aws_access_key_id=KEYS["s3_access_key"], aws_secret_access_key=secret or "x",
            config=Config(signature_version=UNSIGNED) if not signed else None,
        )  # fmt: skip

    def signal_group(self, sig: int, timeout_s: float = 30) -> float:
        """Signal the launcher's whole group (what ``airloop down`` does); seconds until gone."""
        assert self.proc is not None
        start = time.monotonic()
        os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=timeout_s)
        while weed_pids(self.root):  # the child too, not only the launcher
            assert time.monotonic() - start < timeout_s, "weed outlived its launcher"
            time.sleep(0.1)
        return time.monotonic() - start


def weed_pids(root: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if f"-dir={root}/data".encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def seaweed_server(tmp: Path) -> Iterator[Server]:
    server = Server(tmp, free_port_block(seaweed.PORT_SPAN))
    try:
        yield server
    finally:
        if server.proc and server.proc.poll() is None:
            server.signal_group(signal.SIGKILL)
