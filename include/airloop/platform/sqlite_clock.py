"""Millisecond ``now()`` for the embedded profile's SQLite metadata database.

The scheduler moves a queued DAG run to running only once ``run_after <= now()`` in SQL
(``DagRun.get_queued_dag_runs_to_set_running``). On SQLite, SQLAlchemy renders ``now()`` as
``CURRENT_TIMESTAMP``, which has whole-second resolution: a ``run_after`` stored with microseconds
compares as later than "now" until the next second begins. Every run the loop triggers and every
run an Asset event creates sat queued for 0.5 s on average (up to 1 s), measured on the bench's
run timeline: 16 run starts in a five-day loop. PostgreSQL's ``now()`` is microsecond-precise, so
the stack profile never needed this.

Registered in the scheduler process by importing this module (``local_executor`` does).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import functions


@compiles(functions.now, "sqlite")
def _now_in_microsecond_format(_element: Any, _compiler: Any, **_kw: Any) -> str:
    # SQLite's %f is seconds with milliseconds ('SS.SSS'). Padding with '999' gives the six
    # fractional digits SQLAlchemy stores datetimes with, so a value written in this millisecond
    # compares as not later than now. Parenthesised so it is also valid as a column DEFAULT.
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '999')"
