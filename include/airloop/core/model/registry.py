"""MLflow: the one module that imports it. Runs, registry versions, aliases, tags.

Registered model name = pipeline name; aliases ``champion``, ``challenger``,
``previous_champion``. MLflow has no alias history and no compare-and-set: the ledger
(``airloop.core.model.ledger``) and the re-check in ``promotion`` supply both.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from airloop.core.failpoints import failpoint

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous_champion"
_REQUIREMENTS = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")


def _mlflow() -> Any:
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return mlflow


def client() -> Any:
    from mlflow import MlflowClient

    _mlflow()
    return MlflowClient()


def ensure_experiment(name: str) -> str:
    """The experiment named after the pipeline; artifacts under ``AIRLOOP_MLFLOW_ARTIFACTS``."""
    mlflow = _mlflow()
    found = mlflow.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    location = os.environ.get("AIRLOOP_MLFLOW_ARTIFACTS")
    try:
        return mlflow.create_experiment(
            name, artifact_location=f"{location}/{name}" if location else None
        )
    except mlflow.exceptions.MlflowException:  # created concurrently by another task
        return mlflow.get_experiment_by_name(name).experiment_id


def version_for_airflow_run(name: str, dag_id: str, run_id: str) -> dict[str, Any] | None:
    """The version a previous try of this Airflow run registered, if any (retry safety)."""
    try:
        found = client().search_model_versions(
            f"name='{name}' and tags.airflow_run_id='{run_id}' and tags.dag_id='{dag_id}'"
        )
    except Exception as exc:
        if _not_found(exc):  # the registered model does not exist yet
            return None
        raise
    if not found:
        return None
    mv = min(found, key=lambda v: int(v.version))
    return {"version": int(mv.version), "run_id": mv.run_id}


def log_and_register(
    name: str,
    model: Any,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    datasets: list[tuple[Any, str, str]],
    artifacts: dict[str, Any],
    input_example: Any,
) -> dict[str, Any]:
    """One MLflow run (params, metrics, model, lineage, artifacts) and a new registry version.

    ``datasets``: ``(frame, source_uri, context)`` logged through ``mlflow.data``;
    ``artifacts``: file name → DataFrame (Parquet) or JSON-able object.
    """
    mlflow = _mlflow()
    experiment_id = ensure_experiment(name)
    stale = _runs_left_running(experiment_id, tags)
    with mlflow.start_run(experiment_id=experiment_id, tags=tags) as run:
        for run_id in stale:  # a killed try of this same Airflow run: say so in the MLflow UI
            client().set_tag(run_id, "airloop.superseded_by", run.info.run_id)
            client().set_terminated(run_id, status="KILLED")
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics(metrics)
        for frame, source, context in datasets:
            dataset = mlflow.data.from_pandas(frame, source=source, name=f"{name}-{context}")
            mlflow.log_input(dataset, context=context)
        with tempfile.TemporaryDirectory() as tmp:
            for file_name, content in artifacts.items():
                path = Path(tmp) / file_name
                if hasattr(content, "to_parquet"):
                    content.to_parquet(path, index=False)
                else:
                    path.write_text(json.dumps(content, indent=2, default=str))
                mlflow.log_artifact(str(path))
        with warnings.catch_warnings():
            # Serialising the model looks up names across every loaded module (pickle's
            # ``whichmodule``); in a task process that includes Airflow's deprecation shims, which
            # warn on each lookup: ~1000 log lines and seconds per training, all noise.
            warnings.filterwarnings("ignore", message=r"The `airflow\.", category=FutureWarning)
            info = _log_model(mlflow, model, input_example)
    c = client()
    with contextlib.suppress(Exception):  # already registered
        c.create_registered_model(name, description=f"Airloop pipeline {name}")
    # Tags at creation: a crash can never leave a version without its Airflow run id.
    mv = mlflow.register_model(info.model_uri, name, tags=tags)
    # The version exists but is not @challenger yet: a crash here must not make a retry register
    # a second version (it finds this one by its tags) nor leave the alias behind.
    failpoint("train.after_register")
    c.set_registered_model_alias(name, CHALLENGER, mv.version)
    return {"version": int(mv.version), "run_id": run.info.run_id}


def _runs_left_running(experiment_id: str, tags: dict[str, str]) -> list[str]:
    """Runs of the same Airflow run (``dag_id`` + ``airflow_run_id`` tags) still RUNNING: a try
    killed before registering leaves one so, which MLflow never ends by itself."""
    if not {"dag_id", "airflow_run_id"} <= tags.keys():
        return []
    query = (
        f"tags.dag_id = '{tags['dag_id']}' and tags.airflow_run_id = '{tags['airflow_run_id']}'"
        " and attributes.status = 'RUNNING'"
    )
    return [r.info.run_id for r in client().search_runs([experiment_id], query)]


def _log_model(mlflow: Any, model: Any, input_example: Any) -> Any:
    from mlflow.models import infer_signature

    return mlflow.sklearn.log_model(
        model,
        name="model",
        input_example=input_example,
        signature=infer_signature(input_example, model.predict(input_example)),
        # Explicit requirements: MLflow's inference imports the model in a subprocess (~10 s).
        pip_requirements=[f"{d}=={dist_version(d)}" for d in _REQUIREMENTS],
        skops_trusted_types=_own_types(model),
    )


def _own_types(model: Any) -> list[str]:
    """Types skops does not trust by default in a model we just fitted in this process.

    MLflow stores scikit-learn models with skops (not pickle); it refuses e.g. the tree nodes of
    HistGradientBoosting unless listed. We built this object ourselves, so we list its types.
    """
    import skops.io

    return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def _not_found(exc: Exception) -> bool:
    """A missing model, version or alias; anything else (a server down) must not look like it:
    "no champion" would let a promotion or a registration go ahead on false information."""
    from mlflow.exceptions import MlflowException

    missing = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
    return isinstance(exc, MlflowException) and exc.error_code in missing


def alias_version(name: str, alias: str) -> int | None:
    try:
        return int(client().get_model_version_by_alias(name, alias).version)
    except Exception as exc:
        if _not_found(exc):  # no such alias (or model) yet
            return None
        raise


def version_info(name: str, version: int) -> dict[str, Any] | None:
    try:
        mv = client().get_model_version(name, str(version))
    except Exception as exc:
        if _not_found(exc):
            return None
        raise
    return {
        "version": int(mv.version),
        "run_id": mv.run_id,
        "tags": dict(mv.tags),
        "aliases": list(getattr(mv, "aliases", []) or []),
    }


def run_metrics(run_id: str) -> dict[str, float]:
    return dict(client().get_run(run_id).data.metrics)


def load_model(name: str, version: int) -> Any:
    return _mlflow().sklearn.load_model(f"models:/{name}/{version}")


def load_artifact_frame(run_id: str, file_name: str) -> Any:
    import pandas as pd

    path = _mlflow().artifacts.download_artifacts(run_id=run_id, artifact_path=file_name)
    return pd.read_parquet(path)


def set_alias(name: str, alias: str, version: int) -> None:
    client().set_registered_model_alias(name, alias, str(version))


def tag_version(name: str, version: int, tags: dict[str, Any]) -> None:
    c = client()
    for key, value in tags.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        c.set_model_version_tag(name, str(version), key, text[:5000])


def log_run_dict(run_id: str, payload: dict[str, Any], file_name: str) -> None:
    client().log_dict(run_id, payload, file_name)


def count_versions(name: str) -> int:
    try:
        return len(client().search_model_versions(f"name='{name}'"))
    except Exception:
        return 0


def model_uri(name: str, version: int) -> str:
    return f"models:/{name}/{version}"


def run_experiment_id(run_id: str) -> str:
    return client().get_run(run_id).info.experiment_id


def log_monitoring_run(
    name: str,
    day: str,
    metrics: dict[str, float],
    artifacts: dict[str, bytes],
    tags: dict[str, str],
) -> dict[str, str]:
    """The MLflow run of one monitored day (experiment ``<name>-monitoring``), re-used on reruns.

    Returns ``{"experiment_id", "run_id"}``; the HTML reports render in the MLflow UI.
    """
    mlflow = _mlflow()
    experiment_id = ensure_experiment(f"{name}-monitoring")
    found = client().search_runs(
        [experiment_id], f"tags.`airloop.monitor_date` = '{day}'", max_results=1
    )
    run_id = found[0].info.run_id if found else None
    with mlflow.start_run(
        run_id=run_id,
        experiment_id=None if run_id else experiment_id,
        run_name=None if run_id else f"monitor-{day}",
        tags={**tags, "airloop.monitor_date": day, "pipeline": name},
    ) as run:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
        with tempfile.TemporaryDirectory() as tmp:
            for file_name, content in artifacts.items():
                (Path(tmp) / file_name).write_bytes(content)
                mlflow.log_artifact(str(Path(tmp) / file_name), artifact_path="reports")
        return {"experiment_id": experiment_id, "run_id": run.info.run_id}


def signature_columns(name: str, version: int) -> dict[str, str]:
    """The model's input signature: column name → MLflow type (``long``, ``double``, …)."""
    from mlflow.models import get_model_info

    signature = get_model_info(model_uri(name, version)).signature
    if signature is None:
        raise ValueError(f"{name} v{version} has no signature")
    return {c.name: str(c.type.name if hasattr(c.type, "name") else c.type)
            for c in signature.inputs.inputs}  # fmt: skip


def tracking_uri() -> str:
    return _mlflow().get_tracking_uri()


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) means the tracking server did not answer."""
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            return True
        text = str(seen)
        if "Max retries exceeded" in text or "Connection refused" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
