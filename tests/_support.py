"""Helpers shared by tests (importable because pyproject sets pytest's pythonpath to tests/)."""

from __future__ import annotations

import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive loopback ports nobody listens on (the local S3 uses 8)."""
    import random

    for _ in range(200):
        first = random.randint(20000, 30000)  # below Linux's ephemeral range: no client clashes
        socks = []
        try:
            for port in range(first, first + size):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError(f"no {size} consecutive free ports")


HOUR_CSV = SHARED / "datasets" / "bike_sharing" / "hour.csv"


def copy_gx_context(dest: Path) -> Path:
    """A private copy of the committed GX context (results and Data Docs stay in tmp)."""
    import shutil

    shutil.copytree(REPO / "great_expectations", dest, ignore=shutil.ignore_patterns("uncommitted"))
    return dest


def seed_validated(lake_root: Path, pipeline: str, start, days: int, seed: int = 11, drift=None):
    """Publish ``days`` simulated days as validated partitions (what ingest would have done)."""
    from datetime import timedelta

    from airloop.core.data.lake import Lake
    from airloop.core.simulators.simulator import simulate_day

    lake = Lake(lake_root, pipeline)
    for i in range(days):
        day = start + timedelta(days=i)
        lake.publish("validated", day, simulate_day(day, seed=seed, drift=drift), {"seeded": True})
    return lake


def platform_env(tmp_path: Path, spec_changes: dict | None = None) -> dict[str, str]:
    """Environment for a private platform: own state, free ports, a bike_demand spec copy."""
    import os

    import yaml

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLFLOW"))}
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    spec = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())
    for section, changes in (spec_changes or {}).items():
        spec[section] = {**spec.get(section, {}), **changes}
    (pipelines / "bike_demand.yaml").write_text(yaml.safe_dump(spec))
    env.update(
        AIRLOOP_HOME=str(tmp_path / "state"),
        AIRLOOP_AIRFLOW_PORT=str(free_port()),
        AIRLOOP_MLFLOW_PORT=str(free_port()),
        AIRLOOP_SERVING_PORT=str(free_port()),
        AIRLOOP_PIPELINES_DIR=str(pipelines),
        AIRLOOP_RETRY_DELAY_S="2",
    )
    return env


def http_json(url: str, body: object = None, token: str | None = None):
    """POST ``body`` (JSON, or raw bytes) or GET; returns (status, decoded body, headers)."""
    import json
    import urllib.error
    import urllib.request

    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), exc.headers


def scaffold_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An empty Airloop project (the committed GX context, this test setup) and the
    environment to run ``airloop`` in it with private state and free ports."""
    import os
    import shutil

    root = tmp_path / "project"
    for folder in ("include/pipelines", "dags", "tests"):
        (root / folder).mkdir(parents=True)
    copy_gx_context(root / "great_expectations")
    for name in ("conftest.py", "_support.py"):  # the generated smoke test uses its fixtures
        shutil.copy(REPO / "tests" / name, root / "tests" / name)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLFLOW", "AIRLOOP_"))
    }
    env.update(
        AIRLOOP_PROJECT_ROOT=str(root),
        AIRLOOP_HOME=str(tmp_path / "state"),
        AIRLOOP_AIRFLOW_PORT=str(free_port()),
        AIRLOOP_MLFLOW_PORT=str(free_port()),
        AIRLOOP_SERVING_PORT=str(free_port()),
        AIRLOOP_RETRY_DELAY_S="1",
    )
    return root, env


class _Environ:
    """``os.environ`` replaced by ``env`` for a block (in-process CLI calls), then restored."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __enter__(self) -> None:
        import os

        self.saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)

    def __exit__(self, *_exc: object) -> None:
        import os

        os.environ.clear()
        os.environ.update(self.saved)


def scaffold_and_run(
    tmp_path: Path,
    env: dict[str, str],
    name: str,
    data: Path,
    target: str,
    task: str,
    *extra: str,
    days: int = 10,
) -> dict:
    """What a data engineer does: ``airloop new-pipeline``, then ``airloop run NAME --days N``
    (real DAG runs, in a fresh process as from a shell), then ``airloop status NAME``; returns
    that status. The quick commands run in this process (same code, no interpreter start-up)."""
    import contextlib
    import io
    import json
    import subprocess
    import sys

    from airloop import cli

    out, err = io.StringIO(), io.StringIO()
    with _Environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        made = cli.main(["new-pipeline", name, "--data", str(data), "--target", target,
                         "--task", task, *extra])  # fmt: skip
    assert made == 0, err.getvalue()
    airloop = str(Path(sys.executable).parent / "airloop")
    ran = subprocess.run([airloop, "run", name, "--days", str(days)], env=env, timeout=600,
                         capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    table = ran.stdout.split("\ndate ", 1)[1].splitlines()[1:]
    assert len(table) == days, ran.stdout
    assert all(" valid " in line for line in table), ran.stdout  # no quarantine, no failure
    out = io.StringIO()
    with _Environ(env), contextlib.redirect_stdout(out):
        assert cli.main(["status", name, "--json"]) == 0
    return json.loads(out.getvalue()) | {"run_output": ran.stdout}
