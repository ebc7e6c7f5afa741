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


HOUR_CSV = SHARED / "datasets" / "bike_sharing" / "hour.csv"


def copy_gx_context(dest: Path) -> Path:
    """A private copy of the committed GX context (results and Data Docs stay in tmp)."""
    import shutil

    shutil.copytree(REPO / "great_expectations", dest, ignore=shutil.ignore_patterns("uncommitted"))
    return dest


def seed_validated(lake_root: Path, pipeline: str, start, days: int, seed: int = 11, drift=None):
    """Publish ``days`` simulated days as validated partitions (what ingest would have done)."""
    from datetime import timedelta

    from airloop.core.lake import Lake
    from airloop.core.simulator import simulate_day

    lake = Lake(lake_root, pipeline)
    for i in range(days):
        day = start + timedelta(days=i)
        lake.publish("validated", day, simulate_day(day, seed=seed, drift=drift), {"seeded": True})
    return lake
