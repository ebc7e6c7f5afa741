"""Acquire the raw batch of one day from the source a pipeline's spec names.

Each source returns the batch as bytes plus a file suffix, exactly as it will be kept in the raw
zone. Paths are opened through a caller-supplied ``open_path`` (Airflow's ``ObjectStoragePath``
under a task, ``pathlib``/fsspec elsewhere), so local files and ``s3://`` share one code path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

from airloop.core.data import readers
from airloop.spec import FileSource, PipelineSpec, PythonSource, SimulatorSource, SqlSource

OpenPath = Callable[[str], Any]
SqlReader = Callable[[str, str, dict[str, Any]], pd.DataFrame]  # (conn_id, query, params)


@dataclass(frozen=True)
class RawBatch:
    data: bytes
    suffix: str
    origin: str  # where it came from, for lineage and logs


def _suffix(name: str) -> str:
    lowered = name.lower()
    for s in (*readers.PARQUET_SUFFIXES, *readers.CSV_SUFFIXES):
        if lowered.endswith(s):
            return s
    return ".csv"


def from_simulator(src: SimulatorSource, day: date) -> RawBatch:
    from airloop.core.simulators.simulator import DriftScenario, simulate_day

    drift = DriftScenario(**src.drift.model_dump()) if src.drift else None
    if src.rows_per_day:
        from airloop.core.simulators.scaled_simulator import simulate_scaled_day

        frame = simulate_scaled_day(day, src.rows_per_day, seed=src.seed, drift=drift)
    else:
        frame = simulate_day(day, seed=src.seed, drift=drift,
                             missing_hour_rate=src.missing_hour_rate)  # fmt: skip
    return RawBatch(readers.to_bytes(frame, "csv"), ".csv", f"simulator(seed={src.seed})")


def whole_file(path: str, open_path: OpenPath) -> RawBatch:
    """A file that *is* the batch (a manual override): kept byte for byte, even if unreadable."""
    target = open_path(path)
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"input file not found: {path}") from None
    return RawBatch(data, _suffix(str(path)), f"file({path})")


def from_file(spec: PipelineSpec, src: FileSource, day: date, open_path: OpenPath) -> RawBatch:
    """The day's slice of a replayed file: by its time column, or chunk N = start_date + N."""
    source = whole_file(src.path, open_path)
    fmt = src.format if src.format != "auto" else readers.detect_format(src.path, source.data)
    read = readers.read_table(source.data, src.path, src.delimiter)
    if read.frame is None:
        return source  # keep the unreadable file as the raw batch; validation explains it
    frame = read.frame
    if src.row_id:
        if src.row_id in frame.columns:
            raise ValueError(f"{src.path}: row_id column {src.row_id!r} already exists in the file")
        frame = frame.assign(**{src.row_id: range(len(frame))})
    if src.time_column:
        if src.time_column not in frame.columns:
            raise ValueError(f"{src.path}: time column {src.time_column!r} not in {list(frame)}")
        stamps = readers.parse_times(frame[src.time_column])
        batch = frame[stamps.dt.date == day]
        label = f"{src.time_column}={day}"
    else:
        index = (day - spec.start_date).days
        if index < 0:
            raise ValueError(f"{day} is before the pipeline's start_date {spec.start_date}")
        if src.shuffle_seed is not None:
            frame = frame.sample(frac=1.0, random_state=src.shuffle_seed)
        batch = frame.iloc[index * src.chunk_rows : (index + 1) * src.chunk_rows]
        label = f"chunk {index} ({src.chunk_rows} rows)"
    suffix = ".parquet" if fmt == "parquet" else ".csv"
    return RawBatch(
        readers.to_bytes(batch, fmt, src.delimiter), suffix, f"file({src.path}, {label})"
    )


def from_python(src: PythonSource, day: date) -> RawBatch:
    """Rows from a project function (a custom source or a simulator), kept as CSV."""
    module, _, name = src.callable.partition(":")
    try:
        produce = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"source callable {src.callable!r} cannot be imported: {exc}") from None
    frame = produce(day, **src.params)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"source {src.callable} returned {type(frame).__name__}, not a DataFrame")
    return RawBatch(readers.to_bytes(frame, "csv"), ".csv", f"python({src.callable})")


def from_sql(src: SqlSource, day: date, read_sql: SqlReader) -> RawBatch:
    start = datetime.combine(day, time.min)
    params = {"start": start, "end": start + timedelta(days=1)}
    frame = read_sql(src.conn_id, src.query, params)
    return RawBatch(readers.to_bytes(frame, "parquet"), ".parquet", f"sql({src.conn_id})")


def acquire(
    spec: PipelineSpec,
    day: date,
    open_path: OpenPath,
    read_sql: SqlReader | None = None,
    override_file: str | None = None,
    source_kind: str | None = None,
) -> RawBatch:
    """The raw batch for ``day``: an override file, or the spec's source (or ``source_kind``)."""
    if override_file:
        return whole_file(override_file, open_path)
    src = spec.source
    if source_kind and source_kind != src.kind:
        if source_kind != "simulator":
            raise ValueError(
                f"source override {source_kind!r} needs its settings in the spec; "
                "use the 'file' parameter to ingest a specific file"
            )
        src = SimulatorSource(kind="simulator")
    if isinstance(src, SimulatorSource):
        return from_simulator(src, day)
    if isinstance(src, FileSource):
        return from_file(spec, src, day, open_path)
    if isinstance(src, PythonSource):
        return from_python(src, day)
    if read_sql is None:
        raise ValueError("a SQL source needs a database connection (run it inside Airflow)")
    return from_sql(src, day, read_sql)
