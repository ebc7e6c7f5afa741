"""What tasks need from Airflow at run time: SQL connections and the run's partition dates.

Where the lake and other storage live is not Airflow's business: see :mod:`airloop.project`.
"""

from __future__ import annotations

from datetime import date
from typing import Any


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
