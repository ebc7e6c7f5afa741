"""What tasks need from Airflow at run time: the lake, paths, SQL connections, the run's date."""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.sdk import ObjectStoragePath

from airloop.settings import load_settings


def storage_path(uri: str) -> ObjectStoragePath:
    """``ObjectStoragePath`` for a URI or a local path; relative paths (as in a spec's file
    source) are relative to the project root, not to the task's working directory."""
    if "://" not in uri:
        from pathlib import Path

        path = Path(uri).expanduser()
        path = path if path.is_absolute() else load_settings().project_root / path
        uri = path.resolve().as_uri()
    return ObjectStoragePath(uri)


def lake_root() -> ObjectStoragePath:
    """The lake root: ``AIRLOOP_LAKE_URI`` (e.g. ``s3://aws_default@bucket/lake``) or local."""
    return storage_path(load_settings().lake_uri)


def read_sql(conn_id: str, query: str, params: dict[str, Any]) -> Any:
    """Run ``query`` through the Airflow connection ``conn_id`` and return a pandas frame."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(conn_id).get_hook()
    if not isinstance(hook, DbApiHook):
        raise TypeError(f"connection {conn_id!r} is not a SQL database connection")
    return hook.get_df(query, parameters=params, df_type="pandas")


def run_date(context: dict[str, Any]) -> date:
    """The partition date of this run: the ``date`` param, else the data interval's start."""
    chosen = (context.get("params") or {}).get("date")
    if chosen:
        try:
            return date.fromisoformat(str(chosen))
        except ValueError:
            raise ValueError(f"param 'date' must be YYYY-MM-DD, got {chosen!r}") from None
    start = context.get("data_interval_start")
    if start is None:
        raise ValueError("this run has no data interval: set the 'date' param (YYYY-MM-DD)")
    return start.date()


def run_dates(context: dict[str, Any]) -> list[date]:
    """Partition dates of this run, oldest first: the ``date`` param, else the dates carried by
    the triggering Asset events (several can arrive before one run starts), else the interval's.
    """
    if (context.get("params") or {}).get("date"):
        return [run_date(context)]
    carried: set[str] = set()
    for events in (context.get("triggering_asset_events") or {}).values():
        for e in events:
            extra = getattr(e, "extra", None) or {}
            # An event may stand for several partitions (one run scored many): take them all.
            carried |= {str(d) for d in [extra.get("date"), *(extra.get("dates") or [])] if d}
    if carried:
        return sorted(date.fromisoformat(d) for d in carried)
    return [run_date(context)]
