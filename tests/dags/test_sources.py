"""Sources: file replay (by time column or in chunks), SQL through an Airflow connection."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from airloop.core.data import readers, sources
from airloop.core.simulators.simulator import simulate_range
from airloop.spec import FileSource, PipelineSpec, load_pipeline

START = date(2012, 3, 1)


def _spec_with(source: dict) -> PipelineSpec:
    base = load_pipeline("bike_demand").model_dump(mode="json")
    return PipelineSpec.model_validate({**base, "source": source, "start_date": START.isoformat()})


def test_file_replay_by_time_column_yields_exactly_that_day(tmp_path: Path) -> None:
    frame = simulate_range(START, 3, seed=1)
    path = tmp_path / "three_days.csv"
    frame.to_csv(path, index=False)
    spec = _spec_with({"kind": "file", "path": str(path), "time_column": "dteday"})
    batch = sources.acquire(spec, date(2012, 3, 2), Path)
    day = readers.read_table(batch.data, "x.csv").frame
    assert batch.suffix == ".csv" and set(day["dteday"]) == {"2012-03-02"}
    assert len(day) == (frame["dteday"] == "2012-03-02").sum()
    assert "dteday=2012-03-02" in batch.origin


def test_file_replay_without_time_column_goes_in_fixed_chunks(tmp_path: Path) -> None:
    frame = simulate_range(START, 2, seed=1).drop(columns=["dteday"])
    path = tmp_path / "rows.parquet"
    frame.to_parquet(path, index=False)
    spec = _spec_with({"kind": "file", "path": str(path), "chunk_rows": 10})
    batch = sources.acquire(spec, date(2012, 3, 2), Path)  # day index 1 → rows 10..19
    chunk = pd.read_parquet(io.BytesIO(batch.data))
    assert batch.suffix == ".parquet"
    pd.testing.assert_frame_equal(chunk, frame.iloc[10:20].reset_index(drop=True))


def test_an_unreadable_source_file_is_kept_as_is(tmp_path: Path) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\x00\x01\x02garbage")
    spec = _spec_with({"kind": "file", "path": str(path), "time_column": "dteday"})
    assert sources.acquire(spec, START, Path).data == path.read_bytes()


def test_a_missing_override_file_is_a_clear_error(tmp_path: Path) -> None:
    spec = load_pipeline("bike_demand")
    with pytest.raises(FileNotFoundError, match="input file not found"):
        sources.acquire(spec, START, Path, override_file=str(tmp_path / "nope.csv"))


def test_file_source_spec_defaults() -> None:
    src = FileSource(kind="file", path="s3://bucket/data.csv")
    assert (src.delimiter, src.chunk_rows, src.format) == (",", 24, "auto")


@pytest.fixture
def postgres_table(monkeypatch: pytest.MonkeyPatch):
    """A real PostgreSQL table of simulated rows, reachable as Airflow connection airloop_pg."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        conn = psycopg2.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=5
        )
    except psycopg2.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {exc}")
    frame = simulate_range(START, 3, seed=5)
    table = "airloop_test_bike_hourly"
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"""CREATE TABLE {table} (instant bigint, dteday text, season bigint,
            yr bigint, mnth bigint, hr bigint, holiday bigint, weekday bigint,
            workingday bigint, weathersit bigint, temp double precision,
            atemp double precision, hum double precision, windspeed double precision,
            casual bigint, registered bigint, cnt bigint, ts timestamp)""")
        rows = frame.assign(ts=pd.to_datetime(frame["dteday"]) + pd.to_timedelta(frame["hr"], "h"))
        cur.executemany(
            f"INSERT INTO {table} VALUES ({', '.join(['%s'] * 18)})",
            [tuple(r) for r in rows.itertuples(index=False)],
        )
    monkeypatch.setenv("AIRFLOW_CONN_AIRLOOP_PG", "postgresql://postgres@127.0.0.1:5432/test")
    yield table, frame
    with conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    conn.close()


def test_sql_source_through_the_ingest_dag(
    postgres_table, airflow_db, isolated_state, monkeypatch
) -> None:
    """A real DAG run reading a PostgreSQL table through an Airflow connection."""
    from airflow.dag_processing.dagbag import DagBag

    from _support import REPO

    table, frame = postgres_table
    pipelines = isolated_state / "pipelines"
    pipelines.mkdir()
    spec = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())
    columns = ", ".join(frame.columns)
    spec["source"] = {
        "kind": "sql",
        "conn_id": "airloop_pg",
        "query": f"SELECT {columns} FROM {table} "
        "WHERE ts >= %(start)s AND ts < %(end)s ORDER BY ts",
    }
    (pipelines / "bike_demand.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("AIRLOOP_PIPELINES_DIR", str(pipelines))

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("bike_demand__ingest")
    dag_run = dag.test(run_conf={"date": "2012-03-02"})
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "success", states

    from airloop.core.data.lake import Lake

    published = Lake(isolated_state / "state" / "lake", "bike_demand").read(
        "validated", date(2012, 3, 2)
    )
    expected = frame[frame["dteday"] == "2012-03-02"].reset_index(drop=True)
    pd.testing.assert_frame_equal(published, expected, check_dtype=False)
