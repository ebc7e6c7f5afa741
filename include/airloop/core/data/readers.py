"""Turn raw batch bytes into a DataFrame, or into a clear reason why they cannot be read.

Unreadable input (empty, binary, JSON, truncated Parquet, …) must become a validation failure
with a message, never a traceback.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True)
class ReadResult:
    frame: pd.DataFrame | None
    problem: str | None  # why the bytes are not a readable table, for humans


def detect_format(name: str, data: bytes) -> str:
    """``parquet`` or ``csv`` by magic bytes first, then by file suffix."""
    if data[:4] == b"PAR1":
        return "parquet"
    lowered = name.lower()
    if any(lowered.endswith(s) for s in PARQUET_SUFFIXES):
        return "parquet"
    return "csv"


DELIMITERS = (",", ";", "\t")


def detect_delimiter(data: bytes) -> str:
    """The delimiter of a CSV's header and first rows: comma, semicolon or tab (default comma)."""
    sample = data[:65536].decode("utf-8-sig", errors="replace")
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:  # the sniffer gives up on some files; the header's most frequent wins
        return max(DELIMITERS, key=lines[0].count)


def _sniff_problem(text: str, delimiter: str) -> str | None:
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "content looks like JSON, expected a delimited text table (CSV)"
    header = stripped.splitlines()[0] if stripped else ""
    if delimiter not in header:
        for other in (";", "\t", "|", ","):
            if other != delimiter and header.count(other) >= 2:
                shown = "\\t" if other == "\t" else other
                return f"header uses {shown!r} as delimiter, expected {delimiter!r}"
    return None


def read_table(data: bytes, name: str, delimiter: str = ",") -> ReadResult:
    """Parse CSV or Parquet bytes with pandas' default type inference."""
    if not data:
        return ReadResult(None, "file is empty (0 bytes)")
    if detect_format(name, data) == "parquet":
        try:
            return ReadResult(pd.read_parquet(io.BytesIO(data)), None)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            return ReadResult(None, f"unreadable Parquet (truncated or corrupt): {exc}")
    if b"\x00" in data[:8192]:
        return ReadResult(None, "binary content (NUL bytes), expected a text table (CSV)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ReadResult(None, f"not UTF-8 text at byte {exc.start}, expected CSV")
    if not text.strip():
        return ReadResult(None, "file holds only whitespace")
    problem = _sniff_problem(text, delimiter)
    if problem:
        return ReadResult(None, problem)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, on_bad_lines="error")
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        return ReadResult(None, f"malformed CSV: {exc}".strip())
    return ReadResult(frame, None)


def parse_times(column: pd.Series) -> pd.Series:
    """A time column as timestamps (NaT where a value is no time), the same for every caller.

    ISO 8601 first, which takes dates and timestamps side by side (``2024-03-01`` beside
    ``2024-03-01 13:05:00``); pandas' own guess takes the first value's form for all and turns
    the others into NaT, silently dropping rows, or parses each value with dateutil (slowly)
    when it cannot guess, as for ``2024-03-01 20:24:00``. Other forms fall back to ``mixed``.
    """
    stamps = pd.to_datetime(column, errors="coerce", format="ISO8601")
    left = stamps.isna() & column.notna()
    if left.any():
        stamps = stamps.astype("datetime64[ns]")
        stamps[left] = pd.to_datetime(column[left].astype(str), errors="coerce", format="mixed")
    return stamps


def to_bytes(frame: pd.DataFrame, fmt: str, delimiter: str = ",") -> bytes:
    """Serialize a frame as ``csv`` or ``parquet`` (no index)."""
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    return frame.to_csv(index=False, sep=delimiter, lineterminator="\n").encode()
