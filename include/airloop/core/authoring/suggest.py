"""Infer a starter expectation suite from reference data (GX 1.x ships no profiler).

The result is a draft for a person to curate: the exact column set and types, a null policy,
numeric ranges widened by a margin, categorical value sets, and candidate keys. Expectations
are plain ``{type, kwargs, meta}`` dicts; :func:`airloop.core.data.validation.save_suite`
stores them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pandas as pd

MAX_CODES = 20  # an integer column with at most this many values is treated as a code
MAX_CATEGORIES = 50
RANGE_MARGIN = 0.10  # ranges widen by this share of the observed span on each side

_TYPE_LISTS = {
    "i": ["int64", "int32"],
    "u": ["int64", "int32"],
    "f": ["float64", "float32", "int64"],
    "b": ["bool"],
    "M": ["datetime64[ns]", "datetime64[us]"],
}


def _exp(type_: str, level: str, note: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"airloop_level": level, "notes": note}}


def _is_date_text(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).head(1000)
    if sample.empty or not sample.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all():
        return False
    return bool(pd.to_datetime(sample, format="%Y-%m-%d", errors="coerce").notna().all())


def _widen(low: float, high: float, integer: bool) -> tuple[float, float]:
    span = (high - low) or max(abs(high), 1.0)
    lo, hi = low - RANGE_MARGIN * span, high + RANGE_MARGIN * span
    if low >= 0:
        lo = max(lo, 0.0)  # a non-negative quantity stays non-negative
    if low >= 0 and high <= 1 and not integer:
        lo, hi = max(lo, 0.0), min(hi, 1.0)  # looks like a share or a normalised value
    return (math.floor(lo), math.ceil(hi)) if integer else (round(lo, 6), round(hi, 6))


def _column(frame: pd.DataFrame, col: str, source: str) -> list[dict[str, Any]]:
    s = frame[col]
    out = []
    kind = s.dtype.kind
    types = _TYPE_LISTS.get(kind, ["str"])
    out.append(
        _exp(
            "expect_column_values_to_be_in_type_list",
            "batch",
            f"observed dtype {s.dtype} in {source}",
            column=col,
            type_list=types,
        )
    )
    nulls = int(s.isna().sum())
    if nulls == 0:
        out.append(
            _exp(
                "expect_column_values_to_not_be_null",
                "row",
                f"no nulls in {len(s)} reference rows",
                column=col,
            )
        )
    values = s.dropna()
    if values.empty:
        return out
    distinct = values.nunique()
    if kind in "iu" and distinct <= MAX_CODES and distinct < max(2, len(values) // 2):
        codes = sorted(int(v) for v in values.unique())
        out.append(
            _exp(
                "expect_column_values_to_be_in_set",
                "row",
                f"{distinct} codes observed",
                column=col,
                value_set=codes,
            )
        )
    elif kind in "iuf":
        finite = values[values.map(math.isfinite)] if kind == "f" else values
        lo, hi = _widen(float(finite.min()), float(finite.max()), kind in "iu")
        out.append(
            _exp(
                "expect_column_values_to_be_between",
                "row",
                f"observed {finite.min()}..{finite.max()}, widened {RANGE_MARGIN:.0%}",
                column=col,
                min_value=lo,
                max_value=hi,
            )
        )
    elif kind == "O" and _is_date_text(values):
        out.append(
            _exp(
                "expect_column_values_to_match_strftime_format",
                "row",
                "ISO dates observed",
                column=col,
                strftime_format="%Y-%m-%d",
            )
        )
    elif kind == "O" and distinct <= MAX_CATEGORIES:
        cats = sorted(str(v) for v in values.unique())
        out.append(
            _exp(
                "expect_column_values_to_be_in_set",
                "row",
                f"{distinct} categories observed",
                column=col,
                value_set=cats,
            )
        )
    return out


def candidate_keys(frame: pd.DataFrame, max_width: int = 2) -> list[list[str]]:
    """Smallest column combinations (non-float, no nulls) that are unique in ``frame``."""
    usable = [c for c in frame.columns if frame[c].dtype.kind != "f" and not frame[c].isna().any()]
    for width in range(1, max_width + 1):
        found = [
            list(combo)
            for combo in itertools.combinations(usable, width)
            if not frame.duplicated(subset=list(combo)).any()
        ]
        if found:
            return found[:3]
    return []


def suggest_expectations(frame: pd.DataFrame, source: str = "reference data") -> list[dict]:
    """A starter suite for data shaped like ``frame``."""
    out = [
        _exp(
            "expect_table_columns_to_match_set",
            "batch",
            f"columns of {source}",
            column_set=list(frame.columns),
            exact_match=True,
        ),
        _exp(
            "expect_table_row_count_to_be_between", "batch", "a batch is never empty", min_value=1
        ),
    ]
    for col in frame.columns:
        out += _column(frame, col, source)
    for key in candidate_keys(frame)[:1]:
        note = f"unique in {len(frame)} rows of {source}: a candidate key"
        if len(key) == 1:
            out.append(_exp("expect_column_values_to_be_unique", "batch", note, column=key[0]))
        else:
            out.append(_exp("expect_compound_columns_to_be_unique", "batch", note, column_list=key))
    return out


def brief(expectation: dict[str, Any]) -> str:
    """One line describing an expectation's arguments."""
    text = ", ".join(f"{k}={v}" for k, v in expectation["kwargs"].items())
    return text if len(text) <= 90 else text[:87] + "..."
