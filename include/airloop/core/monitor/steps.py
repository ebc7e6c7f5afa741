"""The monitor DAG's steps: measure each day against the champion, then apply the drift policy.

One function per task, shared by the DAG and the bench's direct loop. A measured day crosses
XCom and lands in the lake as the same dict it always was (``to_record``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from airloop.core.monitor import index_page, monitoring
from airloop.core.pipeline import Pipeline

_OPTIONAL = ("reports", "window", "mlflow", "note")


@dataclass(frozen=True)
class DayMeasurement:
    """One day's drift (and quality, with labels) against the champion's reference.

    ``drift`` is None when there was no champion (nothing to compare with) or no data in the
    window (``note`` says so).
    """

    date: str
    champion: int | None
    drift: dict[str, Any] | None
    reports: dict[str, str] | None = None
    window: list[str] | None = None
    mlflow: dict[str, Any] | None = None
    note: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The dict the monitor zone and XCom hold (absent optional fields left out)."""
        found = {"date": self.date, "champion": self.champion, "drift": self.drift}
        return found | {k: getattr(self, k) for k in _OPTIONAL if getattr(self, k) is not None}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DayMeasurement:
        return cls(record["date"], record.get("champion"), record.get("drift"),
                   **{k: record.get(k) for k in _OPTIONAL})  # fmt: skip


@dataclass(frozen=True)
class DayDecision:
    """The policy's answer for one day; ``request`` is the retrain request this run created."""

    date: str
    action: str  # none | retrain | ...
    kind: str | None
    reason: str
    request: dict[str, Any] | None
    reports: dict[str, str] | None = None


@dataclass(frozen=True)
class PolicyOutcome:
    decisions: list[DayDecision] = field(default_factory=list)
    index: str = ""

    @property
    def retrain_requests(self) -> list[dict[str, Any]]:
        """Requests created by this run that ask for training, oldest first."""
        return [d.request for d in self.decisions if d.request and d.action == "retrain"]


def measure_days(pipeline: Pipeline, days: list[date]) -> list[DayMeasurement]:
    """Measure each day against the champion's reference (resolved and loaded once)."""
    champion = pipeline.model.champion()
    if champion is None:
        return [DayMeasurement(d.isoformat(), None, None) for d in days]
    reference = pipeline.model.reference(champion)
    return [
        DayMeasurement.from_record(monitoring.measure_day(
            pipeline.spec, pipeline.lake, d, champion.version, champion.run_id, reference))
        for d in days
    ]  # fmt: skip


def apply_policy(pipeline: Pipeline, measured: list[DayMeasurement], dag_run: str) -> PolicyOutcome:
    """Decide each day (pure policy), record its request, commit the day and the index page."""
    decisions = []
    for m in measured:
        _, decision, created = monitoring.decide_day(
            pipeline.lake, pipeline.spec, m.to_record(), dag_run
        )
        decisions.append(DayDecision(m.date, decision.action, decision.kind, decision.reason,
                                     created, m.reports))  # fmt: skip
    return PolicyOutcome(decisions, index_page.write_index(pipeline.lake, pipeline.spec))
