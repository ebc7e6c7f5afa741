"""The embedded scheduler's SQL ``now()`` on SQLite: a run is due the moment it is created
(``airloop.patches.sqlite_clock``), and SQLite's own clock still needs it."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from airflow.utils.sqlalchemy import UtcDateTime

from airloop import patches


def test_a_run_written_just_now_is_due_at_once_not_at_the_next_whole_second() -> None:
    assert patches.install("sqlite_clock")
    engine = sa.create_engine("sqlite://")
    runs = sa.Table("runs", sa.MetaData(), sa.Column("run_after", UtcDateTime))
    runs.metadata.create_all(engine)
    due = sa.select(sa.func.count()).select_from(runs).where(runs.c.run_after <= sa.func.now())
    with engine.begin() as conn:
        # The query the scheduler uses to start queued runs (DagRun.run_after <= now()); with
        # CURRENT_TIMESTAMP it found nothing until the second that follows run_after began.
        for _ in range(5):
            conn.execute(runs.insert().values(run_after=datetime.now(UTC)))
            assert (
                conn.execute(due).scalar()
                == conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar()
            )
        now = conn.execute(sa.select(sa.func.now())).scalar()
    # Still a datetime SQLAlchemy reads back, at millisecond resolution.
    assert isinstance(now, datetime) and now.microsecond % 1000 == 999


def test_sqlite_clock_upstream_still_needs_it() -> None:
    import sqlite3

    from sqlalchemy.dialects.sqlite.base import SQLiteCompiler, SQLiteDialect

    # SQLAlchemy's own SQLite rendering of now() (the patch's hook only shadows it)...
    compiler = SQLiteCompiler(SQLiteDialect(), sa.select(sa.func.now()))
    rendered = SQLiteCompiler.visit_now_func(compiler, sa.func.now())
    # ...and what SQLite answers for it: whole seconds.
    (value,) = sqlite3.connect(":memory:").execute(f"SELECT {rendered}").fetchone()
    assert rendered == "CURRENT_TIMESTAMP" and len(value) == len("2026-01-01 00:00:00"), (
        "upstream fixed this: remove patch sqlite_clock"
    )
