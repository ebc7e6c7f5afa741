"""The closed loop on real data: the UCI hourly file replayed through the file source.

Real GX, real Evidently, real MLflow (SQLite store), the real lake; the loop driver is the one
`airloop run` and `airloop demo` use (the ``loop_env`` fixture is in conftest.py).
"""

from __future__ import annotations

from datetime import date

import pytest

from airloop.core.model import ledger
from airloop.core.monitor import monitoring


def test_real_uci_data_drifts_with_the_seasons_and_the_loop_retrains(loop_env) -> None:
    """hour.csv (UCI Bike Sharing, Fanaee-T & Gama 2013, CC BY 4.0) replayed by the file source."""
    from _support import HOUR_CSV

    if not HOUR_CSV.exists():
        pytest.skip(f"{HOUR_CSV} is not available")
    lake, write_spec, make_loop, runs = loop_env
    write_spec({
        "source": {"kind": "file", "path": str(HOUR_CSV), "time_column": "dteday"},
        "training": {"min_rows": 100, "window_days": 150},  # January is in the retrain window
        # The shipped thresholds are tuned on the simulator; real weather needs 3 of 5 columns.
        "monitoring": {"policy": {"initial_min_days": 10, "drift_share": 0.6}},
    })  # fmt: skip
    loop = make_loop()
    winter = loop.run(date(2011, 1, 1), date(2011, 1, 10))
    assert winter[-1].champion == 1  # trained on the first ten days of January 2011
    spring = loop.run(date(2011, 5, 2), date(2011, 5, 6))
    shares = [d.drift_share for d in spring]
    assert all(s is not None and s >= 0.6 for s in shares), shares
    assert [d.decision.split(":")[0] for d in spring][:2] == ["none", "none"]  # persistence
    (request,) = [r for r in monitoring.requests(lake) if r["kind"] == "drift"]
    assert request["day"] == "2011-05-04"
    served = [e for e in ledger.entries(lake) if request["key"] in (e.get("request_keys") or [])]
    assert len(served) == 1 and served[0]["trigger"] == "drift"
    assert runs.count("bike_demand__train") == 2
