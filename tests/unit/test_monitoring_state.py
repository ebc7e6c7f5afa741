"""Monitoring state in the lake: late labels joined by key, exclusive requests and claims."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pandas as pd

from airloop.core.data.lake import Lake
from airloop.core.data.storage import create_exclusive
from airloop.core.monitor import monitoring
from airloop.spec import load_pipeline

DAY = date(2012, 6, 10)


def _spec(**monitoring_changes):
    spec = load_pipeline("bike_demand")
    return spec.model_copy(
        update={"monitoring": spec.monitoring.model_copy(update=monitoring_changes)}
    )


def _day(lake: Lake, day: date, label: float | None) -> None:
    rows = pd.DataFrame({"dteday": [day.isoformat()] * 2, "hr": [0, 1], "cnt": [label, label]})
    lake.publish("validated", day, rows, {})
    preds = rows[["dteday", "hr"]].assign(prediction=[10.0, 20.0], model_version=1)
    lake.publish("predictions", day, preds, {})


def test_predictions_meet_late_labels_by_key(tmp_path) -> None:
    lake = Lake(tmp_path, "bike_demand")
    _day(lake, DAY - timedelta(2), 5.0)
    _day(lake, DAY - timedelta(1), None)  # its actuals have not arrived yet
    _day(lake, DAY, 7.0)
    joined = monitoring.labelled_rows(lake, _spec(), DAY)
    assert sorted(joined["cnt"]) == [5.0, 5.0, 7.0, 7.0]
    assert list(joined.columns[:2]) == ["dteday", "hr"] and "prediction" in joined
    delayed = monitoring.labelled_rows(lake, _spec(label_delay_days=1), DAY)
    assert sorted(delayed["cnt"]) == [5.0, 5.0]  # the last day is not judged yet


def test_current_window_joins_predictions_and_keeps_unscored_rows(tmp_path) -> None:
    lake = Lake(tmp_path, "bike_demand")
    _day(lake, DAY - timedelta(1), 5.0)
    extra = pd.DataFrame({"dteday": [DAY.isoformat()], "hr": [3], "cnt": [1.0]})
    lake.publish("validated", DAY, extra, {})  # not scored yet
    current, days = monitoring.current_window(lake, _spec(), DAY)
    assert days == [DAY - timedelta(1), DAY] and len(current) == 3
    assert current["prediction"].isna().sum() == 1


def test_exactly_one_of_many_concurrent_creators_wins(tmp_path) -> None:
    path = tmp_path / "retrain" / "claims" / "k.json"
    wins: list[bool] = []
    threads = [
        threading.Thread(target=lambda i=i: wins.append(create_exclusive(path, f"{i}".encode())))
        for i in range(50)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1 and path.read_bytes().decode().isdigit()
    assert not list(path.parent.glob("*.tmp"))
