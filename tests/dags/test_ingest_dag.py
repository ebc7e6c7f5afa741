"""The real ingest DAG, run end to end with dag.test() against a real metadata database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

import corpus
from airloop.core.data.lake import Lake

DAY = "2012-06-05"


@pytest.fixture
def run_ingest(airflow_db, isolated_state):
    from airflow.dag_processing.dagbag import DagBag

    from _support import REPO

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("bike_demand__ingest")

    def run(**conf):
        dag_run = dag.test(run_conf=conf)
        return dag_run, {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}

    return run


def _lake(isolated_state: Path) -> Lake:
    return Lake(isolated_state / "state" / "lake", "bike_demand")


def _asset_events(uri: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == uri)
            .all()
        )
        return [dict(e.extra) for e in rows]


def test_good_simulated_day_is_published_with_an_asset_event(run_ingest, isolated_state) -> None:
    before = len(_asset_events("x-airloop://bike_demand/validated"))
    dag_run, states = run_ingest(date=DAY)
    assert str(dag_run.state) == "success", states
    assert states["publish_validated"] == "success" and states["quarantine_batch"] == "skipped"
    lake = _lake(isolated_state)
    frame = lake.read("validated", date.fromisoformat(DAY))
    assert frame is not None and 20 <= len(frame) <= 24
    events = _asset_events("x-airloop://bike_demand/validated")
    assert len(events) == before + 1
    extra = events[-1]
    assert extra["partition"].endswith(f"validated/date={DAY}") and extra["rows"] == len(frame)
    assert extra["validation"]["status"] == "valid" and extra["validation"]["checks_total"] >= 50

    # Re-running the same date overwrites, never duplicates.
    run_ingest(date=DAY)
    assert len(lake.read("validated", date.fromisoformat(DAY))) == len(frame)
    folder = lake.partition("validated", date.fromisoformat(DAY))
    assert len(list(folder.glob("part-*.parquet"))) == 1
    assert len(list(lake.partition("raw", date.fromisoformat(DAY)).iterdir())) == 1


def test_bad_day_is_quarantined_raw_kept_and_nothing_published(
    run_ingest, isolated_state, tmp_path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(corpus.build()["duplicate_keys"].data)
    before = len(_asset_events("x-airloop://bike_demand/validated"))
    dag_run, states = run_ingest(date=DAY, file=str(bad))
    assert str(dag_run.state) == "failed"
    assert states["quarantine_batch"] == "failed" and states["publish_validated"] == "skipped"
    lake = _lake(isolated_state)
    day = date.fromisoformat(DAY)
    assert lake.read("validated", day) is None
    assert len(_asset_events("x-airloop://bike_demand/validated")) == before
    [(sub, manifest)] = lake.quarantine_entries(day)
    assert manifest["scope"] == "batch"
    assert any("compound_columns_to_be_unique" in r for r in manifest["reasons"])
    assert lake.raw_path(day, manifest["raw"]["name"]).read_bytes() == bad.read_bytes()
    rows = lake.read("quarantine", day, sub)
    assert len(rows) == 25 and rows["_airloop_reasons"].str.contains("unique").all()
    # People hear about it, with the evidence: a quarantine and a failed-task notification.
    import json

    sent = [json.loads(p.read_bytes()) for p in (lake.base / "notifications").iterdir()]
    assert {n["event"] for n in sent} == {"quarantine", "failure"}
    (quarantine,) = [n for n in sent if n["event"] == "quarantine"]
    assert "compound_columns_to_be_unique" in quarantine["message"]
    assert quarantine["links"]["Raw batch"].endswith(manifest["raw"]["name"])


def test_partial_day_publishes_good_rows_and_quarantines_the_rest(
    run_ingest, isolated_state, tmp_path
) -> None:
    partial = tmp_path / "partial.csv"
    partial.write_bytes(corpus.build()["invalid_code"].data)
    dag_run, states = run_ingest(date=DAY, file=str(partial))
    assert str(dag_run.state) == "success", states
    lake = _lake(isolated_state)
    day = date.fromisoformat(DAY)
    assert len(lake.read("validated", day)) == 23
    [(sub, manifest)] = lake.quarantine_entries(day)
    rows = lake.read("quarantine", day, sub)
    assert manifest["scope"] == "rows" and len(rows) == 1
    assert "weathersit: expect_column_values_to_be_in_set" in rows["_airloop_reasons"].iloc[0]


def test_replay_after_a_suite_fix_publishes_and_keeps_the_quarantine_record(
    run_ingest, isolated_state, tmp_path, monkeypatch
) -> None:
    # Data that is fine, but a suite too strict for it: the max row count is wrongly 20.
    gx_dir = Path(isolated_state / "gx")
    suite_path = gx_dir / "expectations" / "bike_demand" / "raw.json"
    suite = json.loads(suite_path.read_text())
    for exp in suite["expectations"]:
        if exp["type"] == "expect_table_row_count_to_be_between":
            exp["kwargs"]["max_value"] = 20
    suite_path.write_text(json.dumps(suite))
    dag_run, _ = run_ingest(date=DAY)
    assert str(dag_run.state) == "failed"
    lake = _lake(isolated_state)
    day = date.fromisoformat(DAY)
    assert lake.read("validated", day) is None

    for exp in suite["expectations"]:  # the fix
        if exp["type"] == "expect_table_row_count_to_be_between":
            exp["kwargs"]["max_value"] = 24
    suite_path.write_text(json.dumps(suite))
    dag_run, states = run_ingest(date=DAY, replay=True)
    assert str(dag_run.state) == "success", states
    assert lake.read("validated", day) is not None
    [(_, manifest)] = lake.quarantine_entries(day)
    assert manifest["status"] == "replayed" and manifest["replay"]["outcome"] == "valid"


def test_replay_without_quarantine_fails_clearly(run_ingest) -> None:
    dag_run, states = run_ingest(date="2012-01-09", replay=True)
    assert str(dag_run.state) == "failed" and states["land_raw"] == "failed"
