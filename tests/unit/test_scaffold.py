"""`airloop new-pipeline`: what it infers, the suite it writes, and what it refuses.

The command runs in-process against a private project (real GX context); the loops over the
scaffolded pipelines are in test_new_pipeline_*.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import unseen_data
from airloop import cli
from airloop.core.authoring import scaffold
from airloop.core.data import validation


def _new(name: str, data: Path, target: str, task: str, *extra: str) -> int:
    return cli.main(["new-pipeline", name, "--data", str(data), "--target", target,
                     "--task", task, *extra])  # fmt: skip


def _files(root: Path, name: str) -> list[Path]:
    return [
        root / "include" / "pipelines" / f"{name}.yaml",
        root / "great_expectations" / "expectations" / name / "raw.json",
        root / "dags" / f"{name}.py",
        root / "tests" / f"test_pipeline_{name}.py",
    ]


def test_scaffold_infers_spec_and_a_suite_that_passes_its_data_and_rejects_corruption(
    project: Path, tmp_path: Path, capsys
) -> None:
    data = unseen_data.energy(tmp_path)
    assert _new("energy_use", data, "kwh", "regression", "--time-column", "day") == 0
    out = capsys.readouterr().out
    assert "airloop run energy_use --start 2022-10-01 --days 10" in out
    assert all(p.exists() for p in _files(project, "energy_use"))
    spec = yaml.safe_load((project / "include" / "pipelines" / "energy_use.yaml").read_text())
    assert spec["source"]["delimiter"] == ";" and spec["key"] == ["day", "building"]
    assert spec["features"] == ["kind", "outside_temp", "occupancy"]  # building: 150 names
    assert spec["training"]["categorical_features"] == ["kind"]
    frame = pd.read_csv(data, sep=";")
    assert spec["promotion"]["floor"] == pytest.approx(frame["kwh"].std(), rel=1e-3)
    assert spec["promotion"]["slices"] == ["kind"]

    ok = validation.validate_frame(frame, "energy_use.raw", "reference")
    assert ok.success, ok.summary()["failed_checks"]
    corrupted = frame.copy()
    corrupted["occupancy"] = corrupted["occupancy"].astype(float)
    corrupted.loc[3, "occupancy"] = 99_999  # far outside the observed range
    corrupted.loc[5, "kind"] = "warehouse"  # an unseen category
    corrupted.loc[7, "kwh"] = np.nan  # a missing target
    bad = validation.validate_frame(corrupted, "energy_use.raw", "corrupted", 1.0)
    assert sorted(bad.row_reasons) == [3, 5, 7]
    failed = {c["column"] for c in bad.summary()["failed_checks"]}
    assert {"occupancy", "kind", "kwh"} <= failed
    dropped = validation.validate_frame(frame.drop(columns="outside_temp"), "energy_use.raw", "x")
    assert dropped.batch_failed


def test_sorted_text_labels_without_time_column_replay_shuffled_with_a_row_id(
    project: Path, tmp_path: Path, capsys
) -> None:
    data = unseen_data.loans(tmp_path)
    assert _new("loan_decisions", data, "decision", "classification") == 0
    assert "looks sorted by its target" in capsys.readouterr().out
    spec = yaml.safe_load((project / "include" / "pipelines" / "loan_decisions.yaml").read_text())
    source = spec["source"]
    assert source["delimiter"] == "\t" and source["row_id"] == "row_id"
    assert source["shuffle_seed"] == 0 and source["chunk_rows"] == 200
    assert spec["key"] == ["row_id"] and spec["positive_class"] in ("approved", "declined")
    assert spec["training"]["params"]["class_weight"] == "balanced"
    assert spec["promotion"]["metric"] == "roc_auc"
    # The validate command sees the file as the source delivers it (with the row id).
    assert cli.main(["validate", "loan_decisions", str(data)]) == 0


def test_three_text_labels_make_a_multiclass_spec_unless_one_is_the_positive_class(
    project: Path, tmp_path: Path
) -> None:
    data = unseen_data.parcels(tmp_path)  # courier: bike, van, truck
    assert _new("couriers", data, "courier", "classification") == 0
    spec = yaml.safe_load((project / "include" / "pipelines" / "couriers.yaml").read_text())
    assert spec["classes"] == ["bike", "truck", "van"] and "positive_class" not in spec
    assert spec["promotion"]["metric"] == "macro_f1" and spec["promotion"]["floor"] == 0.4
    assert _new("vans", data, "courier", "classification", "--positive-class", "van") == 0
    spec = yaml.safe_load((project / "include" / "pipelines" / "vans.yaml").read_text())
    assert spec["positive_class"] == "van" and "classes" not in spec


def test_parquet_is_read(project: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(unseen_data.parcels(tmp_path))
    frame.to_parquet(tmp_path / "parcels.parquet", index=False)
    assert _new("parcels_pq", tmp_path / "parcels.parquet", "minutes", "regression") == 0
    spec = yaml.safe_load((project / "include" / "pipelines" / "parcels_pq.yaml").read_text())
    assert spec["source"]["format"] == "parquet" and spec["key"] == ["row_id"]


def test_the_smoke_test_goes_with_the_dag_tests_when_the_project_has_that_tier(
    project: Path, tmp_path: Path, capsys
) -> None:
    (project / "tests" / "dags").mkdir()
    assert _new("parcels_tier", unseen_data.parcels(tmp_path), "minutes", "regression") == 0
    smoke = project / "tests" / "dags" / "test_pipeline_parcels_tier.py"
    assert smoke.is_file() and not (project / "tests" / "test_pipeline_parcels_tier.py").exists()
    assert f".venv/bin/pytest tests/dags/{smoke.name}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope", "--task", "regression"], "unknown target column 'nope'"),
        (["--target", "minutes", "--task", "regression", "--time-column", "hour"],
         "time column 'hour' does not hold dates"),
        (["--target", "courier", "--task", "regression"], "regression target 'courier' is not"),
        (["--target", "minutes", "--task", "classification"], "classes are at most 20"),
        (["--target", "one", "--task", "classification"], "has a single class"),
    ],
)  # fmt: skip
def test_refusals_name_the_problem_and_write_nothing(
    project: Path, tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    frame = pd.read_csv(unseen_data.parcels(tmp_path)).assign(one="x")
    frame.to_csv(tmp_path / "data.csv", index=False)
    rc = cli.main(["new-pipeline", "refused", "--data", str(tmp_path / "data.csv"), *args])
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not any(p.exists() for p in _files(project, "refused"))


def test_unreadable_file_and_existing_name_are_refused(project: Path, tmp_path: Path, capsys):
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    assert _new("blobby", binary, "x", "regression") == 2
    assert "cannot read the data: binary content" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert _new("blobby", empty, "x", "regression") == 2
    assert "file is empty" in capsys.readouterr().err
    assert _new("blobby", tmp_path / "missing.csv", "x", "regression") == 2
    assert "no such data file" in capsys.readouterr().err

    data = unseen_data.parcels(tmp_path)
    assert _new("parcels", data, "minutes", "regression") == 0
    spec_file = project / "include" / "pipelines" / "parcels.yaml"
    before = spec_file.read_text()
    capsys.readouterr()
    assert _new("parcels", data, "minutes", "regression") == 2
    assert "pipeline 'parcels' exists" in capsys.readouterr().err
    assert spec_file.read_text() == before
    assert _new("Bad-Name", data, "minutes", "regression") == 2


def test_positive_class_and_delimiters_are_detected() -> None:
    for sep in (",", ";", "\t"):
        text = f"a{sep}b{sep}label\n1.5{sep}x{sep}yes\n2.5{sep}y{sep}no\n".encode()
        frame, fmt, delimiter = scaffold.read_data(text, "f.csv")
        assert (fmt, delimiter, list(frame)) == ("csv", sep, ["a", "b", "label"])
    frame = pd.DataFrame({"x": range(100), "y": ["churned"] * 10 + ["stayed"] * 90})
    positive, why = scaffold._positive_class(frame, "y", None)
    assert positive == "churned" and "minority" in why
    assert scaffold._positive_class(frame, "y", "stayed")[0] == "stayed"
    with pytest.raises(scaffold.ScaffoldError, match="not one of"):
        scaffold._positive_class(frame, "y", "maybe")


def test_a_sparse_daily_series_waits_long_enough_for_honest_holdouts(tmp_path: Path) -> None:
    days = pd.date_range("2020-01-01", periods=400, freq="D")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "temp": rng.normal(10, 5, 400)})
    frame["sales"] = 100 + 3 * frame["temp"] + rng.normal(0, 5, 400)
    found = scaffold.infer("daily_sales", frame, data_path="d.csv", fmt="csv", delimiter=",",
                           target="sales", task="regression", time_column="day")  # fmt: skip
    training, policy = found.spec["training"], found.spec["monitoring"]["policy"]
    # One row a day: a 30-row holdout is 30 days, and training keeps a quarter of the days.
    assert training["holdout_days"] == 30 and policy["initial_min_days"] >= 4 * 30
    assert training["window_days"] > policy["initial_min_days"]
    assert found.spec["monitoring"]["window_days"] >= 100
    # The new pipeline calibrates its drift thresholds; the file's first window previews them.
    assert found.spec["monitoring"]["false_alarms_per_90_days"] == 1
    (note,) = [n for n in found.notes if n.startswith("drift thresholds")]
    assert "calibrated on the file's first" in note and "temp " in note, note
    short = scaffold.infer("short", frame.head(60), data_path="d.csv", fmt="csv", delimiter=",",
                           target="sales", task="regression", time_column="day")  # fmt: skip
    assert any(n.startswith("WARNING: the file holds 60 days") for n in short.notes)
