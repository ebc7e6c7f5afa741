"""The lake and monitoring state on S3: the stack's own S3 server (SeaweedFS) as a process.

Split from unit/test_lake.py and unit/test_monitoring_state.py, which keep the file:// cases.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from airloop.core.data.lake import MANIFEST, Lake
from airloop.core.monitor import monitoring

DAY = date(2012, 6, 5)


def test_the_ingest_dag_runs_on_an_s3_lake(
    s3_lake, airflow_db, isolated_state, monkeypatch
) -> None:
    """The same DAG, with AIRLOOP_LAKE_URI=s3://aws_default@bucket/lake (a local S3 endpoint)."""
    from airflow.dag_processing.dagbag import DagBag

    from _support import REPO

    client, bucket = s3_lake
    monkeypatch.setenv("AIRLOOP_LAKE_URI", f"s3://aws_default@{bucket}/lake")
    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("bike_demand__ingest")
    dag_run = dag.test(run_conf={"date": DAY.isoformat()})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "success", states

    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    prefix = f"lake/bike_demand/validated/date={DAY}/"
    assert f"{prefix}{MANIFEST}" in keys
    assert any(k.startswith(f"lake/bike_demand/raw/date={DAY}/") for k in keys)
    assert not any(".tmp" in k for k in keys)

    from airflow.sdk import ObjectStoragePath

    lake = Lake(ObjectStoragePath(f"s3://aws_default@{bucket}/lake"), "bike_demand")
    frame = lake.read("validated", DAY)
    assert frame is not None and 20 <= len(frame) <= 24
    assert not (isolated_state / "state" / "lake").exists()  # nothing went to local disk


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_source_reads_from_s3(s3_lake, suffix: str, tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    from airloop.core.data import sources
    from airloop.core.simulators.simulator import simulate_range
    from airloop.spec import PipelineSpec, load_pipeline

    client, bucket = s3_lake
    frame = simulate_range(date(2012, 3, 1), 2, seed=1)
    local = tmp_path / f"data{suffix}"
    frame.to_parquet(local, index=False) if suffix == ".parquet" else frame.to_csv(
        local, index=False
    )
    client.upload_file(str(local), bucket, f"incoming/data{suffix}")
    uri = f"s3://aws_default@{bucket}/incoming/data{suffix}"
    base = load_pipeline("bike_demand").model_dump(mode="json")
    spec = PipelineSpec.model_validate(
        {**base, "source": {"kind": "file", "path": uri, "time_column": "dteday"}}
    )
    batch = sources.acquire(spec, date(2012, 3, 2), ObjectStoragePath)
    assert batch.suffix == suffix and len(batch.data) > 0


def test_requests_and_claims_on_s3(s3_lake) -> None:
    from airflow.sdk import ObjectStoragePath

    _, bucket = s3_lake
    lake = Lake(ObjectStoragePath(f"s3://aws_default@{bucket}/lake"), "bike_demand")
    request = {"key": "drift|v1|2012-06-03|0", "day": "2012-06-03", "kind": "drift"}
    assert monitoring.create_request(lake, request) is True
    assert monitoring.create_request(lake, {**request, "day": "2012-06-04"}) is False
    assert monitoring.requests(lake) == [request]
    first = monitoring.claim(lake, request["key"], "bike_demand__train", "run-a")
    second = monitoring.claim(lake, request["key"], "bike_demand__train", "run-b")
    assert first["run_id"] == second["run_id"] == "run-a"
