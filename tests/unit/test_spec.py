"""Pipeline specs: valid specs load; every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from airloop.spec import SpecError, load_pipeline, load_spec_file

GOOD = {
    "name": "demo",
    "task": "regression",
    "target": "y",
    "key": ["id"],
    "features": ["a", "b"],
    "start_date": "2024-01-01",
    "source": {"kind": "simulator"},
}


def _write(tmp_path: Path, data: object, name: str = "demo") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_the_shipped_bike_demand_spec_loads() -> None:
    spec = load_pipeline("bike_demand")
    assert spec.target == "cnt" and spec.suite_name == "bike_demand.raw"
    assert {"casual", "registered"} <= set(spec.exclude_features)
    assert not {"casual", "registered", "cnt"} & set(spec.features)
    assert spec.dag_id("ingest") == "bike_demand__ingest"
    assert spec.schedule is None  # historical data: days are driven, not scheduled


def test_a_minimal_spec_loads_with_defaults(tmp_path: Path) -> None:
    spec = load_spec_file(_write(tmp_path, GOOD))
    assert spec.schedule == "@daily" and spec.validation.max_failing_fraction == 0.1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sourc": {"kind": "simulator"}}, "sourc: unknown key"),
        ({"source": {"kind": "simulator", "seeed": 1}}, "source.simulator.seeed: unknown key"),
        ({"task": "clustering"}, "task: Input should be 'regression' or 'classification'"),
        ({"validation": {"max_failing_fraction": 2}}, "validation.max_failing_fraction"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"features": ["a", "y"]}, "target 'y' must not be a feature"),
        ({"exclude_features": ["a"]}, "features ['a'] are listed in exclude_features"),
        ({"source": {"kind": "sql", "conn_id": "pg", "query": "select 1"}}, "%(start)s"),
        ({"source": {"kind": "ftp"}}, "source"),
        ({"name": "Bad-Name"}, "name: String should match pattern"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, change: dict, message: str) -> None:
    path = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(SpecError) as err:
        load_spec_file(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_name_must_match_the_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="must match the file name 'other'"):
        load_spec_file(_write(tmp_path, GOOD, name="other"))


def test_broken_yaml_and_non_mapping_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec_file(_write(tmp_path, "name: [unclosed"))
    with pytest.raises(SpecError, match="must be a YAML mapping"):
        load_spec_file(_write(tmp_path, "- a\n- b\n"))


def test_unknown_pipeline_lists_the_known_ones(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    with pytest.raises(SpecError, match=r"unknown pipeline 'nope'.*known pipelines: demo"):
        load_pipeline("nope", tmp_path)
