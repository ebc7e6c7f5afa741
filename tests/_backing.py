"""Private PostgreSQL and Redis servers for tests that restart them.

The chaos suite restarts PostgreSQL and Redis mid-loop. Restarting the machine's own servers
would break every other test running beside it, so it gets a PostgreSQL cluster (initdb) and a
Redis server of its own, on free loopback ports: the same binaries, really restarted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on ``port`` (trust auth, loopback only)."""

    def __init__(self, port: int) -> None:
        self.bin = _pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries (initdb) not found under "
                               "/usr/lib/postgresql; install the postgresql package")  # fmt: skip
        self.port = port
        # Under /tmp, not pytest's 0700 folder: the server runs as the postgres user.
        self.root = Path(tempfile.mkdtemp(prefix="airloop-pg-"))
        self.data = self.root / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *argv: str) -> None:
        done = subprocess.run([*self._as, *argv], capture_output=True, text=True, timeout=180,
                              check=False)  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")

    def start(self) -> None:
        if not self.data.exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                      "postgres")  # fmt: skip
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c max_connections=300")  # fmt: skip
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                  "-w", "-o", opts, "start")  # fmt: skip

    def restart(self) -> None:
        """A fast shutdown (clients are disconnected, committed data stays) and a start."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.start()

    def close(self) -> None:
        argv = [
            *self._as,
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            "immediate",
            "stop",
        ]
        subprocess.run(argv, capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A Redis server on ``port`` whose data (AOF, fsync always) survives a restart."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.url = f"redis://127.0.0.1:{port}/0"
        folder.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                str(self.folder), "--appendonly", "yes", "--appendfsync", "always"]  # fmt: skip
        with open(self.folder / "redis.log", "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self._wait(lambda: self._ping(), "answer")

    def _ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=2).ping())
        except redis.RedisError:
            return False

    @staticmethod
    def _wait(probe, what: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not probe():
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis did not {what} in {timeout_s:.0f}s")
            time.sleep(0.1)

    def restart(self) -> None:
        """SHUTDOWN (what a service manager's stop does), then start on the same data."""
        import redis

        with contextlib.suppress(redis.ConnectionError):  # it closes the connection as it exits
            redis.Redis.from_url(self.url).shutdown()
        assert self.proc is not None
        self.proc.wait(timeout=30)
        self.start()

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
