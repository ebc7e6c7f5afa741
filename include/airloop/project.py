"""Where this project's things live: storage paths, the lake root, and opened pipelines.

The one place that turns configuration (``AIRLOOP_LAKE_URI``, the project root, the pipelines
folder) into handles. The CLI, the loop, the bench and the Airflow adapters all open a pipeline
here; the core receives what this returns and never looks locations up itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airloop.settings import load_settings

if TYPE_CHECKING:
    from airloop.core.pipeline import Pipeline


def storage_path(uri: str) -> Any:
    """``ObjectStoragePath`` for a URI or a local path; relative paths (as in a spec's file
    source) are relative to the project root, not to the working directory.

    Airflow's ObjectStoragePath gives file:// and s3:// (through an Airflow connection, e.g.
    ``s3://aws_default@bucket/lake``) one code path; imported here, not at module import, as it
    costs ~1 s.
    """
    from airflow.sdk import ObjectStoragePath

    if "://" not in uri:
        from pathlib import Path

        path = Path(uri).expanduser()
        path = path if path.is_absolute() else load_settings().project_root / path
        uri = path.resolve().as_uri()
    return ObjectStoragePath(uri)


def lake_root() -> Any:
    """The lake root: ``AIRLOOP_LAKE_URI`` (e.g. ``s3://aws_default@bucket/lake``) or local."""
    return storage_path(load_settings().lake_uri)


def open_pipeline(name: str) -> Pipeline:
    """The pipeline ``name``: its validated spec, its lake and its registered model."""
    from airloop.core.data.lake import Lake
    from airloop.core.pipeline import Pipeline, RegisteredModel
    from airloop.spec import load_pipeline

    spec = load_pipeline(name)
    return Pipeline(spec, Lake(lake_root(), spec.name), RegisteredModel(spec.name))
