"""``airloop new-pipeline``: a spec, a starter GX suite, the DAG file and a smoke test from data.

Everything is inferred and checked in memory first; files are written only when all of it is
valid, and removed again if writing any of them fails, so a refusal leaves nothing behind.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from airloop.cli.common import OK, UsageError, parse_date
from airloop.settings import Settings

DAG_TEMPLATE = '''"""DAGs of the ``{name}`` pipeline (spec: include/pipelines/{name}.yaml)."""

from airloop.airflow.factory import build_pipeline_dags

globals().update(build_pipeline_dags("{name}"))
'''

TEST_TEMPLATE = '''"""Smoke test of the ``{name}`` pipeline (scaffolded; extend it)."""

from __future__ import annotations

import runpy

PIPELINE = "{name}"


def test_spec_loads_and_dag_file_builds_its_dags() -> None:
    from airloop.settings import load_settings
    from airloop.spec import load_pipeline

    spec = load_pipeline(PIPELINE)
    found = runpy.run_path(str(load_settings().dags_folder / f"{{PIPELINE}}.py"))
    stages = ("ingest", "train", "score", "monitor", "rollback")
    assert {{spec.dag_id(s) for s in stages}} <= set(found)


def test_first_day_passes_the_suite(isolated_state) -> None:
    from airloop.project import storage_path
    from airloop.core.data import readers, sources, validation
    from airloop.spec import load_pipeline

    spec = load_pipeline(PIPELINE)
    batch = sources.acquire(spec, spec.start_date, storage_path)
    read = readers.read_table(batch.data, "batch" + batch.suffix, spec.source.delimiter)
    assert read.frame is not None, read.problem
    outcome = validation.validate_frame(
        read.frame, spec.suite_name, "smoke", spec.validation.max_failing_fraction
    )
    assert outcome.success, outcome.summary()["failed_checks"]
'''


def _data_reference(path: Path, project_root: Path) -> str:
    """Relative to the project root when the file is inside it (portable), else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(project_root.resolve()))
    except ValueError:
        return str(resolved)


def _targets(settings: Settings, name: str) -> dict[str, Path]:
    """The four files of pipeline ``name``.

    The smoke test parses the DAG file and validates a day, so it goes with the DAG tests
    (``tests/dags``) in a project whose suite has that tier, else in ``tests``.
    """
    from airloop.core.data.validation import context_dir
    from airloop.spec import pipelines_dir

    tests = settings.project_root / "tests"
    if (tests / "dags").is_dir():
        tests = tests / "dags"
    return {
        "spec": pipelines_dir() / f"{name}.yaml",
        "suite": context_dir() / "expectations" / name / "raw.json",
        "dag": settings.dags_folder / f"{name}.py",
        "test": tests / f"test_pipeline_{name}.py",
    }


def _write_new(path: Path, text: str, written: list[Path]) -> None:
    """Write ``path`` atomically and note it in ``written`` (removed again on a failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    written.append(path)


def new_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    """Scaffold pipeline ``args.name`` from ``args.data``."""
    import re

    from airloop.core.authoring import scaffold, scaffold_spec
    from airloop.core.data import validation
    from airloop.spec import NAME_PATTERN

    name = args.name
    if not re.fullmatch(NAME_PATTERN, name):
        raise UsageError(f"pipeline name {name!r} must match {NAME_PATTERN} (e.g. churn_daily)")
    targets = _targets(settings, name)
    taken = [str(p) for p in targets.values() if p.exists()]
    if taken:
        raise UsageError(f"pipeline {name!r} exists ({', '.join(taken)}); pick another name")
    data = Path(args.data)
    if not data.is_file():
        raise UsageError(f"no such data file: {data}")
    try:
        raw = data.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {data}: {exc.strerror or exc}") from None
    try:
        frame, fmt, delimiter = scaffold.read_data(raw, data.name)
        found = scaffold.infer(
            name, frame, data_path=_data_reference(data, settings.project_root), fmt=fmt,
            delimiter=delimiter, target=args.target, task=args.task,
            time_column=args.time_column, positive_class=args.positive_class,
            start_date=args.start_date,
        )  # fmt: skip
    except scaffold.ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    written: list[Path] = []
    try:
        _write_new(targets["dag"], DAG_TEMPLATE.format(name=name), written)
        _write_new(targets["test"], TEST_TEMPLATE.format(name=name), written)
        suite = f"{name}.raw"
        validation.save_suite(suite, found.expectations, notes=f"Suggested from {data.name}.")
        written.append(targets["suite"])
        validation.ensure_checkpoint(suite)
        _write_new(targets["spec"], scaffold_spec.render(found.spec, data.name, found.notes),
                   written)  # fmt: skip
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    _print_next_steps(name, data, frame, found, targets, settings)
    return OK


def _print_next_steps(
    name: str, data: Path, frame: Any, found: Any, targets: dict[str, Path], settings: Settings
) -> None:
    """What was inferred, the files written, and the commands to run next."""

    def shown(path: Path) -> str:
        try:
            return str(path.relative_to(settings.project_root))
        except ValueError:
            return str(path)

    spec = found.spec
    print(f"Pipeline {name}: {spec['task']} of {spec['target']!r} from {data} "
          f"({len(frame)} rows, {len(frame.columns)} columns)")  # fmt: skip
    for note in found.notes:
        print(f"  - {note}")
    print("\nCreated:")
    print(f"  {shown(targets['spec']):<58} the spec: features, metric floor, drift policy")
    print(f"  {shown(targets['suite']):<58} {len(found.expectations)} expectations to curate")
    print(f"  {shown(targets['dag']):<58} the DAG file (ingest, train, score, monitor, rollback)")
    print(f"  {shown(targets['test']):<58} a smoke test")
    # Enough days to see the first model trained and then scored and monitored.
    n = max(10, spec["monitoring"]["policy"]["initial_min_days"] + 2)
    days = f"--days {n}" if "chunk_rows" in spec["source"] else (
        f"--start {spec['start_date']} --days {n}")  # fmt: skip
    print("\nNext:")
    print(f"  1. review {shown(targets['spec'])} and the suite (see the notes above)")
    print(f"  2. airloop validate {name} {data}")
    print(f"  3. .venv/bin/pytest {shown(targets['test'])}")
    print(f"  4. airloop run {name} {days}   # real DAG runs: ingest → score → monitor → train")
    print(f"  5. make up, then the Airflow UI: DAGs tagged pipeline:{name}")


def add_commands(sub: Any) -> None:
    """Add ``new-pipeline`` to ``sub``."""
    p = sub.add_parser(
        "new-pipeline", help="scaffold a pipeline (spec, suite, DAG, test) from a data file"
    )
    p.add_argument("name", help="pipeline name: lowercase letters, digits, underscores")
    p.add_argument("--data", required=True, help="CSV (comma, semicolon or tab) or Parquet file")
    p.add_argument("--target", required=True, help="the column to predict")
    p.add_argument("--task", required=True, choices=("classification", "regression"))
    p.add_argument("--time-column", help="date column; without it rows replay in daily chunks")
    p.add_argument("--positive-class", help="classification: the label counted as positive")
    p.add_argument("--start-date", type=parse_date, help="without a time column: the first day "
                   f"(default {date(2024, 1, 1)})")  # fmt: skip
    p.set_defaults(func=new_pipeline)
