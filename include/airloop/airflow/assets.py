"""Asset names: ``x-airloop://<pipeline>/<artifact>``.

The ``x-`` prefix is Airflow's mark for a custom scheme: Airflow then skips URI normalisation,
which otherwise asks every provider for its scheme handlers and so imports the Amazon provider's
S3 hook and boto3 while a DAG file parses (~0.9 s per parse).
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias


def validated(pipeline: str) -> Asset:
    """New validated partitions of ``pipeline`` (extra: partition URI, rows, validation)."""
    return Asset(uri=f"x-airloop://{pipeline}/validated", name=f"{pipeline}.validated")


def champion(pipeline: str) -> Asset:
    """Champion changes (extra: version, previous version, trigger, reason)."""
    return Asset(uri=f"x-airloop://{pipeline}/champion", name=f"{pipeline}.champion")


def retrain_request(pipeline: str) -> Asset:
    """Retrain requests from monitoring (extra: reason, window)."""
    return Asset(uri=f"x-airloop://{pipeline}/retrain_request", name=f"{pipeline}.retrain_request")


def retrain_requests_made(pipeline: str) -> AssetAlias:
    """The policy task's outlet: it adds a :func:`retrain_request` event only on the days it
    asks for training (an Asset outlet would announce one on every successful run)."""
    return AssetAlias(f"{pipeline}.retrain_requests_made")


def predictions(pipeline: str) -> Asset:
    """New predictions partitions (extra: date, model version, ``scored``)."""
    return Asset(uri=f"x-airloop://{pipeline}/predictions", name=f"{pipeline}.predictions")


def reconciled(pipeline: str) -> AssetAlias:
    """The reconciler's outlet: it re-emits ``validated``, ``predictions`` or ``retrain_request``
    events only for the work a lost event left undone."""
    return AssetAlias(f"{pipeline}.reconciled")
