"""The reconciler finds what a lost Asset event left undone, on file:// and s3:// alike, and
re-announces it through a real DAG run; stale temporary files of killed writers are swept."""

from __future__ import annotations

import json
import os
import time
from datetime import date, timedelta

import pandas as pd
import pytest

from _support import seed_validated
from airloop.core.data.lake import Lake
from airloop.core.data.reconcile import find_stalled
from airloop.core.data.storage import TEMP_SUFFIX, sweep_temp
from airloop.core.monitor import monitoring

D = date(2012, 5, 1)
FUTURE = time.time() + 3600  # everything written so far counts as settled


def _lake(kind: str, tmp_path, request) -> Lake:
    if kind == "file":
        return Lake(tmp_path / "lake", "bike_demand")
    request.getfixturevalue("s3_lake")
    from airloop.project import lake_root

    return Lake(lake_root(), "bike_demand")


def _day(n: int) -> date:
    return D + timedelta(days=n)


def _stage(lake: Lake, validated: int, scored: int, monitored: list[int]) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    for n in range(validated):
        lake.publish("validated", _day(n), frame, {"sha256": f"v{n}"})
    for n in range(scored):
        lake.publish("predictions", _day(n), frame, {"model_version": 1})
    for n in monitored:
        monitoring.commit_day(lake, _day(n), {"date": _day(n).isoformat(), "champion": None})


def _request(lake: Lake, key: str, n: int) -> dict:
    request = {"key": key, "day": _day(n).isoformat(), "dag_run": "r", "window_days": 28,
               "window": [_day(0).isoformat(), _day(n).isoformat()], "reason": "drift",
               "kind": "drift", "action": "retrain"}  # fmt: skip
    assert monitoring.create_request(lake, request)
    return request


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_finds_unscored_and_unmonitored_days_and_unclaimed_requests(kind, tmp_path, request):
    lake = _lake(kind, tmp_path, request)
    # Day 0 monitored before any champion (never scored: finished); days 1-2 scored and
    # monitored; day 3 scored, never monitored; day 4 validated, nothing after.
    _stage(lake, validated=5, scored=4, monitored=[0, 1, 2])
    lake.publish("predictions", _day(0), pd.DataFrame({"x": [1.0]}), {})  # rescored later: done
    _request(lake, "served", 2)
    monitoring.claim(lake, "served", "bike_demand__train", "run-1")
    lost = _request(lake, "lost", 3)

    stalled = find_stalled(lake, FUTURE, lookback_days=30)
    assert stalled.unscored == [_day(4)]
    assert stalled.unmonitored == [_day(3)]
    assert [r["key"] for r in stalled.unclaimed] == ["lost"]
    assert monitoring.request_event(stalled.unclaimed[0]) == {
        "key": "lost", "window_days": 28, "reason": "drift", "kind": "drift",
        "date": lost["window"][1]}  # fmt: skip

    # Work younger than the grace may still have its event in flight: nothing is stalled.
    assert find_stalled(lake, time.time() - 600, lookback_days=30).empty()
    # Claimed and finished, it is gone from the next look.
    monitoring.claim(lake, "lost", "bike_demand__train", "run-2")
    monitoring.commit_day(lake, _day(3), {"date": _day(3).isoformat(), "champion": 1})
    lake.publish("predictions", _day(4), pd.DataFrame({"x": [1.0]}), {})
    monitoring.commit_day(lake, _day(4), {"date": _day(4).isoformat(), "champion": 1})
    assert find_stalled(lake, FUTURE, lookback_days=30).empty()


def test_history_before_the_lookback_is_not_replayed(tmp_path):
    lake = Lake(tmp_path / "lake", "bike_demand")
    _stage(lake, validated=10, scored=0, monitored=[])
    _request(lake, "old", 1)
    stalled = find_stalled(lake, FUTURE, lookback_days=3)
    assert stalled.unscored == [_day(n) for n in range(6, 10)]
    assert stalled.unclaimed == []
    assert find_stalled(Lake(tmp_path / "empty", "x"), FUTURE, lookback_days=3).empty()


def test_sweep_removes_only_stale_temporary_files(tmp_path):
    folder = tmp_path / "lake" / "p" / "validated" / "date=2012-05-01"
    folder.mkdir(parents=True)
    stale, fresh = folder / f".a.parquet.1{TEMP_SUFFIX}", folder / f".b.parquet.2{TEMP_SUFFIX}"
    kept = folder / "part-1.parquet"
    for path in (stale, fresh, kept):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(stale, (now - 7200, now - 7200))
    os.utime(kept, (now - 7200, now - 7200))
    assert sweep_temp(tmp_path / "lake", 3600, now) == [str(stale)]
    assert not stale.exists() and fresh.exists() and kept.exists()
    assert sweep_temp(tmp_path / "missing", 3600, now) == []


def _events(uri: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (select(AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                 .where(AssetModel.uri == uri))  # fmt: skip
        return [dict(e) for e in session.scalars(query)]


def test_the_reconcile_dag_announces_stalled_work_once_then_nothing(loop_env) -> None:
    lake, write_spec, make_loop, _ = loop_env
    seed_validated(lake.root, "bike_demand", date(2012, 5, 1), 3, seed=42)
    write_spec({"reconcile": {"grace_minutes": 0, "lookback_days": 7}})
    tmp = lake.partition("validated", date(2012, 5, 1)) / f".x.parquet.1{TEMP_SUFFIX}"
    tmp.write_bytes(b"partial")
    os.utime(tmp, (0, 0))
    before = len(_events("x-airloop://bike_demand/validated"))

    result = make_loop()._run("reconcile", {}, ("reconcile",))
    assert result.state == "success", result.tasks
    days = ["2012-05-01", "2012-05-02", "2012-05-03"]
    assert result.xcom["reconcile"]["validated"] == days
    assert result.xcom["reconcile"]["swept_temp_files"] == [str(tmp)] and not tmp.exists()
    events = _events("x-airloop://bike_demand/validated")
    assert len(events) == before + 1
    assert events[-1] == {"date": "2012-05-03", "dates": days, "reconciled": True}

    # Once the days are monitored, the next run has nothing to announce.
    for day in days:
        monitoring.commit_day(lake, date.fromisoformat(day), {"date": day, "champion": None})
    again = make_loop()._run("reconcile", {}, ("reconcile",))
    assert "validated" not in again.xcom["reconcile"]
    assert len(_events("x-airloop://bike_demand/validated")) == before + 1
    assert json.loads(json.dumps(again.xcom["reconcile"]["stalled"])) == {
        "unscored": [], "unmonitored": [], "unclaimed": []}  # fmt: skip
