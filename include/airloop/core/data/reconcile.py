"""What the Asset chain dropped: days the loop saw but never finished, and unserved requests.

Airloop's chain rides on Airflow's Asset events, and Airflow can lose a queued event
(apache/airflow#56050): a dropped ``validated`` event leaves a day never scored, a dropped
``predictions`` event a day never monitored, a dropped ``retrain_request`` a request nobody
trains. The lake knows what was done, so the reconciler compares zones and announces again what
is stalled. Re-announcing is safe because every consumer is idempotent: a day is scored once
per (validated data, model version), monitored days are skipped, and a request is claimed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from airloop.core.data.lake import MANIFEST, Lake
from airloop.core.model import scoring
from airloop.core.monitor import monitoring


@dataclass(frozen=True)
class Stalled:
    """Work to announce again, oldest first."""

    unscored: list[date] = field(default_factory=list)  # validated; neither scored nor monitored
    unmonitored: list[date] = field(default_factory=list)  # scored; not monitored
    unclaimed: list[dict[str, Any]] = field(default_factory=list)  # requests nobody claimed

    def empty(self) -> bool:
        return not (self.unscored or self.unmonitored or self.unclaimed)

    def summary(self) -> dict[str, Any]:
        return {
            "unscored": [d.isoformat() for d in self.unscored],
            "unmonitored": [d.isoformat() for d in self.unmonitored],
            "unclaimed": [r["key"] for r in self.unclaimed],
        }


def _settled(path: Any, settled_before: float) -> bool:
    """True when ``path`` was last written before ``settled_before`` (epoch seconds).

    The storage's own clock (file mtime, S3 LastModified) dates the write, so no writer has to
    record a wall-clock time; a fresh item may still have its event in flight.
    """
    return float(path.stat().st_mtime) < settled_before


def find_stalled(lake: Lake, settled_before: float, lookback_days: int) -> Stalled:
    """Stalled work in ``lake`` whose last write is older than ``settled_before``.

    Only the ``lookback_days`` data days before the newest validated day are looked at, so
    history loaded around the chain (a seeded lake, an old backfill) is not replayed. A day
    monitored without being scored (no champion yet) is finished: monitoring is what asks for
    the first model.
    """
    validated = set(lake.dates("validated"))
    if not validated:
        return Stalled()
    since = max(validated) - timedelta(days=lookback_days)
    validated = {d for d in validated if d >= since}
    scored = set(lake.dates(scoring.ZONE))
    monitored = set(lake.dates(monitoring.ZONE))

    def settled(zone: str, days: set[date]) -> list[date]:
        return [d for d in sorted(days)
                if _settled(lake.partition(zone, d) / MANIFEST, settled_before)]  # fmt: skip

    unclaimed = [
        r for r in monitoring.requests(lake)
        if date.fromisoformat(r["day"]) >= since
        and monitoring.claim_of(lake, r["key"]) is None
        and _settled(monitoring.request_path(lake, r["key"]), settled_before)
    ]  # fmt: skip
    return Stalled(
        unscored=settled("validated", validated - scored - monitored),
        unmonitored=settled(scoring.ZONE, (scored & validated) - monitored),
        unclaimed=unclaimed,
    )
