"""Asset names: ``airloop://<pipeline>/<artifact>``."""

from __future__ import annotations

from airflow.sdk import Asset


def validated(pipeline: str) -> Asset:
    """New validated partitions of ``pipeline`` (extra: partition URI, rows, validation)."""
    return Asset(uri=f"airloop://{pipeline}/validated", name=f"{pipeline}.validated")
