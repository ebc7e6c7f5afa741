"""Infer a new pipeline's spec and starter suite from a data file (``airloop new-pipeline``).

Pure work on a DataFrame: every choice is data-driven and explained in ``notes`` so the person
reviewing the generated files knows what to check. Refusals are :class:`ScaffoldError` messages
that say what is wrong with which column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from airloop.core.authoring import scaffold_calibration, scaffold_plan, suggest
from airloop.core.authoring.scaffold_spec import build_spec
from airloop.core.data import readers

CHUNK_START = date(2024, 1, 1)  # day 0 of a replay without a time column (override: --start-date)
ROW_ID = "row_id"
MAX_CATEGORIES = suggest.MAX_CATEGORIES
MAX_SLICE_VALUES = 12
MAX_CLASSES = 20  # more labels than this are an identifier or a quantity, not classes
MIN_ROWS = 200
LEAKAGE_CORRELATION = 0.98


class ScaffoldError(ValueError):
    """The data cannot back the requested pipeline; the message says why."""


@dataclass
class Scaffold:
    spec: dict[str, Any]  # YAML-ready, validated by PipelineSpec
    expectations: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)  # each choice and why, for the reviewer


def read_data(data: bytes, name: str) -> tuple[pd.DataFrame, str, str]:
    """The table in ``data``; its format (csv/parquet) and delimiter (detected for CSV)."""
    fmt = readers.detect_format(name, data)
    delimiter = readers.detect_delimiter(data) if fmt == "csv" else ","
    read = readers.read_table(data, name, delimiter)
    if read.frame is None:
        raise ScaffoldError(f"{name}: cannot read the data: {read.problem}")
    if read.frame.empty:
        raise ScaffoldError(f"{name}: the table has a header but no rows")
    return read.frame, fmt, delimiter


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _positive_class(frame: pd.DataFrame, target: str, chosen: str | None) -> tuple[Any, str]:
    values = frame[target].dropna()
    classes = [_plain(v) for v in values.unique()]
    if len(classes) < 2:
        shown = classes[0] if classes else "no values"
        raise ScaffoldError(
            f"target {target!r} has a single class ({shown!r} in {len(values)} rows): "
            "a classifier needs at least two"
        )
    if len(classes) > 2 and chosen is None:  # infer() makes these multi-class first
        raise ScaffoldError(
            f"target {target!r} has {len(classes)} classes {sorted(map(str, classes))[:10]}: "
            "a binary target needs --positive-class (that class against the rest)"
        )
    if chosen is not None:
        match = [c for c in classes if str(c) == chosen]
        if not match:
            raise ScaffoldError(f"--positive-class {chosen!r} is not one of {classes}")
        rest = f" against the {len(classes) - 1} other classes" if len(classes) > 2 else ""
        return match[0], f"positive class {match[0]!r} (given){rest}"
    if {str(c).lower() for c in classes} in ({"0", "1"}, {"false", "true"}):
        positive = max(classes)
        return positive, f"positive class {positive!r}"
    counts = values.value_counts()
    positive = _plain(counts.index[-1])
    share = counts.iloc[-1] / len(values)
    why = f"positive class {positive!r}: the minority class ({share:.1%}); see --positive-class"
    return positive, why


def _multiclass_labels(frame: pd.DataFrame, target: str, chosen: str | None) -> list[Any] | None:
    """The sorted labels of a target with 3+ classes and no --positive-class; None: binary."""
    from airloop.spec import CLASS_LABEL_PATTERN

    values = frame[target].dropna()
    if chosen is not None or values.nunique() < 3:
        return None
    fractional = values.dtype.kind == "f" and bool((values != values.round()).any())
    if values.nunique() > MAX_CLASSES or fractional:
        raise ScaffoldError(f"target {target!r} has {values.nunique()} classes (e.g. "
                            f"{values.iloc[0]!r}): classes are at most {MAX_CLASSES} texts or "
                            "integers; for a quantity use --task regression")  # fmt: skip
    values = values.astype("int64") if values.dtype.kind == "f" else values  # ints beside NaN
    labels = sorted(_plain(v) for v in values.unique())
    if not all(re.fullmatch(CLASS_LABEL_PATTERN, str(v)) for v in labels):
        raise ScaffoldError(f"target {target!r} has labels that cannot name a column ({labels[:5]})"
                            ": use letters, digits, spaces or _.- (at most 60)")  # fmt: skip
    return labels


def _check_target(frame: pd.DataFrame, target: str, task: str) -> None:
    if target not in frame.columns:
        raise ScaffoldError(f"unknown target column {target!r}; the columns are {list(frame)}")
    values = frame[target].dropna()
    if values.empty:
        raise ScaffoldError(f"target {target!r} has no values (every row is empty)")
    if task == "regression":
        if values.dtype.kind not in "iuf":
            raise ScaffoldError(
                f"regression target {target!r} is not numeric (dtype {values.dtype}, e.g. "
                f"{values.iloc[0]!r}); use --task classification for labels"
            )
        if values.nunique() < 2:
            raise ScaffoldError(f"regression target {target!r} is constant ({values.iloc[0]!r})")


def _days(frame: pd.DataFrame, time_column: str) -> pd.Series:
    if time_column not in frame.columns:
        raise ScaffoldError(f"unknown time column {time_column!r}; the columns are {list(frame)}")
    column = frame[time_column]
    if column.dtype.kind in "iufb":  # pandas would read numbers as epoch nanoseconds
        raise ScaffoldError(
            f"time column {time_column!r} does not hold dates: it holds numbers "
            f"(e.g. {column.iloc[0]!r}); dates look like 2024-01-31"
        )
    stamps = readers.parse_times(column)  # as the source cuts days
    if stamps.notna().mean() < 0.95:
        bad = frame.loc[stamps.isna(), time_column].head(3).tolist()
        raise ScaffoldError(f"time column {time_column!r} does not hold dates (e.g. {bad})")
    days = stamps.dt.date
    if days.nunique() < 2:
        raise ScaffoldError(f"time column {time_column!r} spans a single day: nothing to replay")
    return days


def _features(
    frame: pd.DataFrame, target: str, skip: set[str], y: pd.Series, notes: list[str]
) -> tuple[list[str], list[str]]:
    """Model inputs and which of them are categorical; notes say what was left out and why."""
    features, categorical = [], []
    for col in frame.columns:
        if col in skip or col == target:
            continue
        s = frame[col]
        distinct = s.nunique()
        why = None
        if distinct <= 1:
            why = "constant"
        elif s.dtype.kind == "O" and suggest._is_date_text(s):
            why = "a date (calendar columns drift by design; derive features from it instead)"
        elif (s.dtype.kind in "iuO" and distinct > MAX_CATEGORIES
              and col.lower().replace("-", "_").endswith(("_id", "id"))):  # fmt: skip
            why = f"an identifier ({distinct} distinct values)"
        elif s.dtype.kind == "O" and distinct > MAX_CATEGORIES:
            why = f"text with {distinct} distinct values (an id or free text)"
        elif s.dtype.kind in "iuf" and y.notna().any():
            corr = pd.concat([s, y], axis=1).dropna().corr().iloc[0, 1]
            if math.isfinite(corr) and abs(corr) >= LEAKAGE_CORRELATION:
                why = f"correlates {corr:+.3f} with the target: probable leakage"
        if why:
            notes.append(f"left out {col!r}: {why}")
            continue
        features.append(col)
        if s.dtype.kind in "Ob":
            categorical.append(col)
    if not features:
        raise ScaffoldError(f"no usable feature columns besides target {target!r}: {list(frame)}")
    return features, categorical


def _slices(frame: pd.DataFrame, features: list[str]) -> list[str]:
    """Low-cardinality features whose every value is common enough to judge a model on."""
    found = []
    for col in features:
        counts = frame[col].value_counts()
        if 2 <= len(counts) <= MAX_SLICE_VALUES and counts.min() >= 0.05 * len(frame):
            found.append(col)
    return found[:2]


def infer(
    name: str,
    frame: pd.DataFrame,
    *,
    data_path: str,
    fmt: str,
    delimiter: str,
    target: str,
    task: str,
    time_column: str | None = None,
    positive_class: str | None = None,
    start_date: date | None = None,
) -> Scaffold:
    """The spec and starter suite for ``frame`` (see the module docstring)."""
    notes: list[str] = []
    _check_target(frame, target, task)
    positive, labels = None, None
    if task == "classification":
        labels = _multiclass_labels(frame, target, positive_class)
        positive, why = (
            _positive_class(frame, target, positive_class) if labels is None else
            (None, f"multi-class: {len(labels)} classes {labels}; --positive-class X makes it "
                   "X against the rest")
        )  # fmt: skip
        notes.append(why)
    if time_column:
        days = _days(frame, time_column)
        first, n_days = min(days.dropna()), days.nunique()
        rows_per_day = float(days.value_counts().median())
        chunk_rows = None
    else:
        n_days = None
        first = start_date or CHUNK_START
        chunk_rows = int(min(max(len(frame) // 30, 50), 5000))
        rows_per_day = float(chunk_rows)
    keys = [k for k in suggest.candidate_keys(frame.drop(columns=[target])) if time_column
            in (None, *k) or len(k) == 1]  # fmt: skip
    row_id = None
    if keys:
        key = keys[0]
        notes.append(f"key {key}: unique in all {len(frame)} rows")
    else:
        if ROW_ID in frame.columns:
            raise ScaffoldError(f"no column identifies a row, and {ROW_ID!r} is taken")
        row_id, key = ROW_ID, [ROW_ID]
        notes.append(f"no column identifies a row: the source adds {ROW_ID!r} (its position)")
    y = frame[target] if task == "regression" else (frame[target] == positive).astype(float)
    if labels:  # a correlation with class codes means nothing: no leakage check by it
        y = pd.Series(np.nan, index=frame.index)
        notes.append("multi-class: features are not checked for leakage by correlation")
    skip = {*(k for k in [time_column] if k)}
    if row_id is None and len(key) == 1:
        skip.add(key[0])
        notes.append(f"left out {key[0]!r}: the key (unique per row, an identifier)")
    features, categorical = _features(frame, target, skip, y, notes)
    shuffle = None
    if not time_column and task == "classification":
        changes = int((frame[target] != frame[target].shift()).sum()) - 1
        rate = float(y.mean())
        expected = 2 * rate * (1 - rate) * (len(frame) - 1)
        if labels:  # label changes expected between shuffled rows, any number of classes
            shares = frame[target].value_counts(normalize=True)
            expected = (1 - float((shares**2).sum())) * (len(frame) - 1)
        if changes < 0.2 * expected:  # labels come in long runs: the file is sorted by them
            shuffle = 0
            notes.append("the file looks sorted by its target: chunks are replayed shuffled")
    with_id = frame.assign(**{ROW_ID: range(len(frame))}) if row_id else frame
    # Training fits on labelled rows only, so the plan counts those per day as replayed.
    rows, day_number = scaffold_plan.day_rows(
        frame[target], days if time_column else None, chunk_rows, shuffle
    )
    try:  # refused here with the reason, rather than as an invalid spec from build_spec
        found = scaffold_plan.plan(rows, MIN_ROWS)
    except scaffold_plan.PlanError as exc:
        raise ScaffoldError(f"{data_path}: {exc}") from None
    numeric = [f for f in features if f not in categorical]  # empty ones would fail training
    for col, why in scaffold_plan.unfed(frame[frame[target].notna()], day_number, found,
                                        numeric).items():  # fmt: skip
        features.remove(col)
        notes.append(f"left out {col!r}: {why}")
    if not features:
        raise ScaffoldError(f"no feature column has values where the first model trains: {notes}")
    spec = build_spec(
        name=name, task=task, target=target, positive_class=positive, classes=labels, key=key,
        time_column=time_column, features=features, categorical=categorical,
        exclude=[c for c in with_id.columns if c not in features and c != target],
        start_date=first, source={
            "kind": "file", "path": data_path, "format": fmt, "delimiter": delimiter,
            **({"time_column": time_column} if time_column else {"chunk_rows": chunk_rows}),
            **({"row_id": row_id} if row_id else {}),
            **({"shuffle_seed": shuffle} if shuffle is not None else {}),
        },
        rows=rows, floor=float(y.std()) if task == "regression" else None,
        slices=_slices(frame, features), min_rows=MIN_ROWS, notes=notes,
    )  # fmt: skip
    if time_column:
        available = n_days
        notes.append(f"{n_days} days from {first}, ~{rows_per_day:.0f} rows a day")
    else:
        available = math.ceil(len(frame) / chunk_rows)
        notes.append(f"no time column: {chunk_rows}-row chunks, chunk N is day {first} + N "
                     f"({available} days)")  # fmt: skip
    needed = spec["monitoring"]["policy"]["initial_min_days"]
    if available < needed + 1:
        notes.append(f"WARNING: the file holds {available} days; the first model needs "
                     f"{needed} and monitoring more: bring more data")  # fmt: skip
    notes.append(scaffold_calibration.first_window_note(spec, frame, day_number))
    expectations = suggest.suggest_expectations(with_id, source=data_path.rsplit("/", 1)[-1])
    return Scaffold(spec, expectations, notes)
