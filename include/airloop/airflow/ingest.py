"""The ingest DAG of a pipeline: land raw → validate (GX) → publish validated or quarantine."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from airloop.airflow import assets
from airloop.airflow.defaults import optional_date_param, pipeline_dag
from airloop.spec import PipelineSpec

log = logging.getLogger(__name__)


def _opened(pipeline: str) -> tuple[Any, Any, dict[str, Any]]:
    """This run's pipeline, partition date and context."""
    from airloop.airflow.runtime import run_date
    from airloop.project import open_pipeline

    context = get_current_context()
    return open_pipeline(pipeline), run_date(context), context


# multiple_outputs=False on every task that returns a dict: TaskFlow infers True from the return
# type and then also pushes each key as its own XCom, an API call and a database write each
# (~100 ms a task at these sizes, measured); nothing reads them, downstream tasks take the dict.
@task(multiple_outputs=False)
def land_raw(pipeline: str) -> dict[str, Any]:
    """Acquire the day's batch and keep it, byte for byte, in the raw zone."""
    try:
        return _land_raw(pipeline)
    except (LookupError, FileNotFoundError, ValueError) as exc:
        # Bad parameters, a missing file or nothing to replay: retrying cannot help.
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def _land_raw(pipeline: str) -> dict[str, Any]:
    from airloop.airflow.runtime import read_sql
    from airloop.core.data import ingest
    from airloop.project import storage_path

    opened, day, context = _opened(pipeline)
    params = context["params"]
    source = None if params.get("source") in (None, "spec") else params["source"]
    landed = ingest.land(opened, day, storage_path, read_sql, file=params.get("file"),
                         source=source, replay=bool(params.get("replay")))  # fmt: skip
    if landed["replay"]:
        log.info("Replaying quarantined raw batch %s of %s", landed["uri"], day)
    else:
        log.info("Landed %d bytes from %s as %s", landed["bytes"], landed["origin"], landed["uri"])
    return landed


@task(multiple_outputs=False)
def validate_batch(pipeline: str, landed: dict[str, Any]) -> dict[str, Any]:
    """Run the pipeline's GX suite on the raw batch; log the failures and the Data Docs page."""
    from airloop.core.data import ingest

    opened, day, _ = _opened(pipeline)
    spec = opened.spec
    summary = ingest.validate_raw(opened.lake, spec, day, landed)
    log.info(
        "Validation of %s with %s: %s, %d rows, %d failing rows",
        day,
        spec.suite_name,
        summary["status"],
        summary["rows"],
        summary["failing_rows"],
    )
    for check in summary["failed_checks"]:
        log.warning(
            "FAILED %s — %s rows, sample %s",
            check["description"],
            check["unexpected_count"],
            check["sample"],
        )
    if summary["data_docs"]:
        log.info("Data Docs: %s", summary["data_docs"])
    return summary


@task.branch
def route_batch(summary: dict[str, Any]) -> list[str]:
    """Valid rows go to the validated zone; failing rows (or the whole batch) to quarantine."""
    return {
        "valid": ["publish_validated"],
        "partial": ["publish_validated", "quarantine_batch"],
        "quarantined": ["quarantine_batch"],
    }[summary["status"]]


def _publish_task(pipeline: str) -> Any:
    @task(task_id="publish_validated", outlets=[assets.validated(pipeline)], multiple_outputs=False)
    def publish_validated(pipeline: str, landed: dict[str, Any], summary: dict[str, Any]) -> dict:
        """Commit the validated partition and announce it with an Asset event."""
        from airloop.core.data import ingest
        from airloop.core.failpoints import failpoint

        opened, day, context = _opened(pipeline)
        manifest = ingest.publish(opened, day, landed, summary, context["run_id"])
        # A test holds the task here to stop the scheduler before the event is queued.
        failpoint("ingest.before_event")
        context["outlet_events"][assets.validated(pipeline)].extra = {
            "partition": manifest["uri"],
            "date": manifest["date"],
            "rows": manifest["rows"],
            "quarantined_rows": manifest["quarantined_rows"],
            "validation": manifest["validation"],
        }
        log.info("Published %d rows to %s", manifest["rows"], manifest["uri"])
        return manifest

    return publish_validated


@task(multiple_outputs=False)
def quarantine_batch(pipeline: str, landed: dict[str, Any], summary: dict[str, Any]) -> dict:
    """Quarantine failing rows with their reasons; fail the run when the whole batch is bad."""
    from airloop.core.data import ingest

    opened, day, context = _opened(pipeline)
    spec = opened.spec
    manifest = ingest.quarantine(opened.lake, spec, day, landed, context["run_id"])
    log.warning("Quarantined %d rows of %s at %s", manifest["rows"], day, manifest["uri"])
    from airloop.airflow.notify import notify

    failed = "; ".join(summary["batch_failures"]) or f"{summary['failing_rows']} failing rows"
    notify(
        spec.name, "quarantine", f"{day}: {manifest['rows']} rows quarantined ({failed})",
        {"Quarantine": manifest["uri"], "Raw batch": landed["uri"],
         "Data Docs": summary.get("data_docs")},
        context,
    )  # fmt: skip
    if summary["status"] == "quarantined":
        # No retry: the same bytes fail the same way. Fix the suite or the data, then replay.
        raise AirflowFailException(
            f"batch of {day} quarantined (raw kept at {landed['uri']}): "
            + "; ".join(summary["batch_failures"])
        )
    return manifest


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__ingest``: scheduled per the spec; triggerable with a Params form."""
    params = {
        "date": optional_date_param("Partition date", "Empty = the run's data interval start"),
        "source": Param("spec", enum=["spec", "simulator"], title="Source",
                        description="'spec' uses the source in the pipeline spec"),
        "file": Param(None, type=["null", "string"], title="Input file",
                      description="Ingest this file (path or s3:// URI) as the day's batch"),
        "replay": Param(False, type="boolean", title="Replay quarantine",
                        description="Re-validate the day's quarantined raw batch"),
    }  # fmt: skip
    description = f"Acquire, validate and publish {spec.name} data"
    with pipeline_dag(spec, "ingest", description, spec.schedule, params) as dag:
        dag.doc_md = __doc__
        landed = land_raw(spec.name)
        summary = validate_batch(spec.name, landed)
        routes = route_batch(summary)
        published = _publish_task(spec.name)(spec.name, landed, summary)
        quarantined = quarantine_batch(spec.name, landed, summary)
        routes >> [published, quarantined]
    return dag
