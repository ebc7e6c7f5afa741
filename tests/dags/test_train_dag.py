"""The real train and rollback DAGs (dag.test) against a real MLflow store and the lake."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from _support import REPO, seed_validated
from airloop.core.data.lake import Lake
from airloop.core.model import ledger, registry

START = date(2012, 4, 1)
END = date(2012, 5, 12)  # 42 days: the spec's window


@pytest.fixture
def model_plane(airflow_db, isolated_state, isolated_mlflow, monkeypatch):
    """Seeded validated partitions, a private MLflow store, and a way to run DAGs."""
    from airflow.dag_processing.dagbag import DagBag

    lake = seed_validated(isolated_state / "state" / "lake", "bike_demand", START, 42)
    pipelines = isolated_state / "pipelines"
    pipelines.mkdir()
    spec = yaml.safe_load((REPO / "include" / "pipelines" / "bike_demand.yaml").read_text())
    monkeypatch.setenv("AIRLOOP_PIPELINES_DIR", str(pipelines))

    def write_spec(**training_changes) -> None:
        changed = {**spec, "training": {**spec["training"], **training_changes}}
        (pipelines / "bike_demand.yaml").write_text(yaml.safe_dump(changed))

    def run(dag_id: str, **conf):
        dag = DagBag(dag_folder=str(REPO / "dags")).get_dag(dag_id)
        dag_run = dag.test(run_conf=conf)
        return dag_run, {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}

    write_spec()
    return lake, write_spec, run


def _ledger(lake: Lake) -> list[tuple]:
    return [
        (e["action"], e["from_version"], e["to_version"], e["trigger"])
        for e in ledger.entries(lake)
    ]


def test_promote_reject_inconclusive_and_rollback(model_plane) -> None:
    lake, write_spec, run = model_plane
    # 1. The first model clears the floor and is promoted.
    dag_run, states = run("bike_demand__train", end_date=END.isoformat())
    assert str(dag_run.state) == "success", states
    assert states["promote_champion"] == "success"
    assert registry.alias_version("bike_demand", "champion") == 1
    assert _ledger(lake) == [("promote", None, 1, "initial")]
    info = registry.version_info("bike_demand", 1)
    assert info["tags"]["airloop.decision"] == "promote"
    assert info["tags"]["airflow_run_id"] == dag_run.run_id
    assert info["tags"]["data_window"] == "2012-04-01..2012-05-12"
    assert info["tags"]["code_version"].startswith("0.1.0")
    assert info["tags"]["pipeline"] == "bike_demand"
    run_metrics = registry.run_metrics(info["run_id"])
    assert run_metrics["holdout_rmse"] < 150
    reference = registry.load_artifact_frame(info["run_id"], "reference.parquet")
    assert {"prediction", "cnt", "temp"} <= set(reference.columns)
    assert not {"casual", "registered"} & set(reference.columns)

    # 2. A deliberately worse challenger (a dummy estimator) is rejected; champion unchanged.
    write_spec(estimator="sklearn.dummy.DummyRegressor", params={})
    dag_run, states = run("bike_demand__train", end_date=END.isoformat(), reason="dummy")
    assert str(dag_run.state) == "success", states
    assert states["promote_champion"] == "skipped" and states["record_outcome"] == "success"
    assert registry.alias_version("bike_demand", "champion") == 1
    assert registry.alias_version("bike_demand", "challenger") == 2
    assert _ledger(lake)[-1] == ("reject", 1, 2, "manual")

    # 3. An equal challenger (same estimator, same data) is inconclusive and kept out.
    write_spec()
    dag_run, states = run("bike_demand__train", end_date=END.isoformat())
    assert states["promote_champion"] == "skipped"
    assert registry.alias_version("bike_demand", "champion") == 1
    assert _ledger(lake)[-1] == ("inconclusive", 1, 3, "manual")

    # 4. Forced promotion of an equal model, then a rollback restores the previous champion.
    dag_run, states = run("bike_demand__train", end_date=END.isoformat(), force=True)
    assert states["promote_champion"] == "success"
    assert registry.alias_version("bike_demand", "champion") == 4
    assert registry.alias_version("bike_demand", "previous_champion") == 1
    dag_run, states = run("bike_demand__rollback", reason="bad reviews in production")
    assert str(dag_run.state) == "success", states
    assert registry.alias_version("bike_demand", "champion") == 1
    assert registry.alias_version("bike_demand", "previous_champion") == 4
    assert _ledger(lake)[-2:] == [("promote", 1, 4, "manual"), ("rollback", 4, 1, "manual")]
    assert ledger.entries(lake)[-1]["reason"] == "bad reviews in production"

    # 5. An unknown version is refused clearly, and nothing changes.
    dag_run, states = run("bike_demand__rollback", reason="typo", to_version=99)
    assert str(dag_run.state) == "failed" and states["rollback_champion"] == "failed"
    assert registry.alias_version("bike_demand", "champion") == 1
    assert len(ledger.entries(lake)) == 5


def test_a_retried_training_reuses_its_version(model_plane) -> None:
    """A second try of the same Airflow run finds the version the first try registered."""
    from airloop.core.model import challenger
    from airloop.spec import load_pipeline

    lake, _, _ = model_plane
    spec = load_pipeline("bike_demand")
    tags = {"dag_id": "bike_demand__train", "airflow_run_id": "manual__x", "trigger": "manual"}
    first = challenger.train(lake, spec, END, tags)
    again = challenger.train(lake, spec, END, tags)
    assert (first["reused"], again["reused"]) == (False, True)
    assert again["version"] == first["version"] and registry.count_versions("bike_demand") == 1


def test_too_little_data_fails_without_registering(model_plane) -> None:
    _, _, run = model_plane
    dag_run, states = run("bike_demand__train", end_date="2011-01-10")
    assert str(dag_run.state) == "failed" and states["train_challenger"] == "failed"
    assert registry.count_versions("bike_demand") == 0
    lake = model_plane[0]
    (failure,) = [p for p in (lake.base / "notifications").iterdir() if "failure" in p.name]
    assert "train_challenger" in failure.read_text()
    assert "no validated partitions" in failure.read_text()


def test_cli_status_and_rollback(model_plane, capsys) -> None:
    import json

    from airloop import cli

    _, _, run = model_plane
    run("bike_demand__train", end_date=END.isoformat())
    assert cli.main(["rollback", "bike_demand", "--reason", "nothing to go back to"]) == 1
    assert "no previous champion" in capsys.readouterr().err
    assert cli.main(["rollback", "bike_demand", "--to", "7", "--reason", "x"]) == 1
    assert "has no version 7" in capsys.readouterr().err
    assert cli.main(["status", "bike_demand", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pipeline"] == "bike_demand" and status["versions"] == 1
    assert status["champion"]["version"] == 1 and "holdout_rmse" in status["champion"]["metrics"]
    assert [e["action"] for e in status["ledger"]] == ["promote"]
    assert set(status["ledger"][0]) >= {
        "at",
        "action",
        "from_version",
        "to_version",
        "trigger",
        "reason",
    }
    assert status["last_drift"] is None
