"""Millisecond ``now()`` for the embedded profile's SQLite metadata database.

The scheduler moves a queued DAG run to running only once ``run_after <= now()`` in SQL
(``DagRun.get_queued_dag_runs_to_set_running``). On SQLite, SQLAlchemy renders ``now()`` as
``CURRENT_TIMESTAMP``, which has whole-second resolution: a ``run_after`` stored with microseconds
compares as later than "now" until the next second begins. Every run the loop triggers and every
run an Asset event creates sat queued for 0.5 s on average (up to 1 s), measured on the bench's
run timeline: 16 run starts in a five-day loop. PostgreSQL's ``now()`` is microsecond-precise, so
the stack profile never needed this.

:func:`install` registers the compile hook (SQLAlchemy's ``@compiles`` extension point) for
every engine of the process. ``airloop.platform.local_executor`` installs it on import, as the
module's import registered it before: every Airflow command imports the configured executor's
module (its CLI parser asks the executor for commands), the scheduler among them.

Upstream: not reported yet; reproduction (SQLAlchemy 2.1.9, Airflow's UtcDateTime column):
    engine = sa.create_engine("sqlite://")
    runs = sa.Table("runs", sa.MetaData(), sa.Column("run_after", UtcDateTime))
    runs.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(runs.insert().values(run_after=datetime.now(UTC)))
        conn.execute(sa.select(sa.func.count()).where(runs.c.run_after <= sa.func.now()))  # 0
"""

from __future__ import annotations

from typing import Any

_installed = False


def _now_in_microsecond_format(_element: Any, _compiler: Any, **_kw: Any) -> str:
    # SQLite's %f is seconds with milliseconds ('SS.SSS'). Padding with '999' gives the six
    # fractional digits SQLAlchemy stores datetimes with, so a value written in this millisecond
    # compares as not later than now. Parenthesised so it is also valid as a column DEFAULT.
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '999')"


def install() -> None:
    """Register the SQLite rendering of ``now()`` once per process (idempotent)."""
    global _installed
    if _installed:
        return
    from sqlalchemy.ext.compiler import compiles
    from sqlalchemy.sql import functions

    compiles(functions.now, "sqlite")(_now_in_microsecond_format)
    _installed = True
