"""The daily closed loop, driven day by day through real Airflow DAG runs.

ingest → score → monitor, and train when monitoring requests it. With the platform up, only
ingest is triggered: the Asset chain (validated → score → predictions → monitor →
retrain_request → train) runs on the scheduler and this follows it. Without it, each DAG runs
in-process with ``dag.test()`` against the project-local metadata database.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from airloop.platform import runner
from airloop.settings import Settings


class LoopError(RuntimeError):
    """A DAG run of the loop failed; the message names the DAG, run and failed tasks."""


@dataclass
class DayOutcome:
    date: str
    validation: str  # valid | partial | quarantined | failed
    rows: int | None
    champion: int | None
    drift_share: float | None
    decision: str  # the policy's action and reason
    training: str | None  # promote / reject / inconclusive with versions, when a run trained
    seconds: float

    def row(self) -> dict[str, Any]:
        return asdict(self)


def _failed(result: runner.RunResult) -> str:
    bad = {t: s for t, s in result.tasks.items() if s not in ("success", "skipped")}
    where = f"; log {result.log}" if result.log else ""
    return f"{result.dag_id} run {result.run_id} {result.state}: {bad}{where}"


def _warm_imports() -> None:
    """Import what reading a day's outcome needs: the lake (pandas) and MLflow's client."""
    with contextlib.suppress(Exception):  # only a head start: the real import reports errors
        from airloop.core.model import ledger, registry  # noqa: F401
        from airloop.project import lake_root

        lake_root()  # imports Airflow's SDK for ObjectStoragePath (~1 s)
        registry.client()


class Loop:
    """Runs the cycle of one pipeline for a range of dates."""

    def __init__(
        self,
        settings: Settings,
        pipeline: str,
        on_platform: bool | None = None,
        dag_runner: Callable[[str, dict[str, Any], tuple[str, ...]], Any] | None = None,
    ) -> None:
        """``dag_runner(dag_id, conf, xcom_tasks)`` replaces ``runner.run_dag`` (tests)."""
        from airloop.spec import load_pipeline

        self.settings = settings
        self.dag_runner = dag_runner
        self.spec = load_pipeline(pipeline)
        if dag_runner is not None:
            on_platform = False
        self.platform = runner.platform_running(settings) if on_platform is None else on_platform
        self.mode = "platform" if self.platform else "in-process"
        if self.platform:  # the Asset chain runs on the scheduler only if its DAGs are active
            runner.unpause(
                settings, [self.spec.dag_id(s) for s in ("score", "monitor", "train", "reconcile")]
            )
            # Each day's outcome names the champion: read from the platform's registry.
            os.environ.setdefault("MLFLOW_TRACKING_URI", settings.mlflow_url)
            # This process mostly waits on the scheduler: import the readers meanwhile. Imported
            # when first needed, they delayed the first trigger (~0.7 s) and the day after a
            # training (~1 s, MLflow), both on the loop's critical path.
            threading.Thread(target=_warm_imports, name="warm-imports", daemon=True).start()

    def _run(self, stage: str, conf: dict[str, Any], xcom: tuple[str, ...] = ()) -> Any:
        if self.dag_runner is not None:
            return self.dag_runner(self.spec.dag_id(stage), conf, xcom)
        return runner.run_dag(
            self.settings, self.spec.dag_id(stage), conf, xcom, in_process=not self.platform
        )

    def _lake(self) -> Any:
        from airloop.project import open_pipeline

        return open_pipeline(self.spec.name).lake

    def day(self, day: date) -> DayOutcome:
        """One day of the loop; returns what happened (a quarantined day stops at ingest)."""
        started = time.monotonic()
        ingest = self._run("ingest", {"date": day.isoformat()}, ("validate_batch",))
        from airloop.core.model import registry
        from airloop.core.monitor import monitoring  # after the trigger: pandas, ~0.7 s cold

        summary = ingest.xcom.get("validate_batch") or {}
        status = summary.get("status", "failed")
        if ingest.state != "success":
            champion = registry.alias_version(self.spec.name, registry.CHAMPION)
            return DayOutcome(day.isoformat(), status, summary.get("rows"), champion, None,
                              "not monitored: no validated data", None,
                              time.monotonic() - started)  # fmt: skip
        if self.platform:
            runner.follow_asset_run(self.settings, self.spec.dag_id("score"), day)
            runner.follow_asset_run(self.settings, self.spec.dag_id("monitor"), day)
        else:
            self._must(self._run("score", {"date": day.isoformat()}))
            self._must(self._run("monitor", {"date": day.isoformat()}))
        record = monitoring.day_record(self._lake(), day) or {}
        decision = record.get("decision") or {}
        training = None
        if decision.get("action") == "retrain":
            training = self._train(decision)
        share = (record.get("drift") or {}).get("drift_share")
        return DayOutcome(
            day.isoformat(), status, summary.get("rows"),
            registry.alias_version(self.spec.name, registry.CHAMPION), share,
            f"{decision.get('action', '?')}: {decision.get('reason', '')}", training,
            time.monotonic() - started,
        )  # fmt: skip

    def _must(self, result: runner.RunResult) -> runner.RunResult:
        if result.state != "success":
            raise LoopError(_failed(result))
        return result

    def _train(self, decision: dict[str, Any]) -> str:
        """Serve the day's retrain request: follow the scheduler's run, or run it here."""
        from airloop.core.model import ledger
        from airloop.core.monitor import monitoring

        key = decision["key"]
        if self.platform:
            claim = runner.wait_for(lambda: monitoring.claim_of(self._lake(), key), 300, 0.25)
            runner.follow_run(self.settings, claim["dag_id"], claim["run_id"])
        else:
            request = monitoring.request(self._lake(), key) or {}
            conf = {
                "request_key": key, "end_date": decision["window"][1],
                "window_days": request.get("window_days"), "reason": decision["reason"][:400],
                "trigger": "drift",
            }  # fmt: skip
            self._must(self._run("train", conf))
        served = [e for e in ledger.entries(self._lake()) if key in (e.get("request_keys") or [])]
        if not served:
            return f"request {key} served (see the ledger)"
        e = served[-1]
        return f"{e['action']} v{e['to_version']} (vs {e['from_version']}): {e['reason']}"

    def run(
        self, start: date, end: date, progress: Callable[[DayOutcome], None] | None = None
    ) -> list[DayOutcome]:
        days = []
        day = start
        while day <= end:
            outcome = self.day(day)
            days.append(outcome)
            if progress:
                progress(outcome)
            day += timedelta(days=1)
        return days
