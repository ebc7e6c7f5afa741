"""The daily closed loop, driven day by day through real Airflow DAG runs.

ingest → score → monitor, and train when monitoring requests it. With the platform up, only
ingest is triggered: the Asset chain (validated → score → predictions → monitor →
retrain_request → train) runs on the scheduler and this follows it. Without it, each DAG runs
in-process with ``dag.test()`` against the project-local metadata database.

A failed DAG run does not stop the loop: the day records it (DAG, run, failed tasks and their
errors, from the tasks' ``failure`` notifications) and the next day runs. A failed first training
is asked for again by the drift policy once another ``initial_min_days`` days are validated.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from airloop.platform import runner
from airloop.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFailure:
    """A DAG run of the loop that did not succeed: where, which tasks, and why."""

    day: str
    dag_id: str
    run_id: str
    state: str
    tasks: dict[str, str]  # the tasks that neither succeeded nor were skipped, and their states
    errors: list[str]  # the failed tasks' failure notifications (their exceptions)
    log: str | None = None

    def __str__(self) -> str:
        where = f"; log {self.log}" if self.log else ""
        why = "; ".join(self.errors) or "no failure notification (see the task logs)"
        run = f"{self.day} {self.dag_id} run {self.run_id} {self.state}"
        return f"{run}: {self.tasks}: {why}{where}"


class LoopError(RuntimeError):
    """A DAG run of the loop failed; the message names the DAG, run, failed tasks and errors."""

    def __init__(self, failure: RunFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


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
    failures: list[RunFailure] = field(default_factory=list)  # the day's failed DAG runs

    def row(self) -> dict[str, Any]:
        return asdict(self)


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
        """One day of the loop; returns what happened. A failed run ends the day's work there
        (a quarantined day stops at ingest) and is kept in ``failures``."""
        started = time.monotonic()
        ingest = self._run("ingest", {"date": day.isoformat()}, ("validate_batch",))
        from airloop.core.model import registry
        from airloop.core.monitor import monitoring  # after the trigger: pandas, ~0.7 s cold

        summary = ingest.xcom.get("validate_batch") or {}
        status = summary.get("status", "failed")
        failures: list[RunFailure] = []

        def outcome(
            decision: str, training: str | None = None, share: float | None = None
        ) -> DayOutcome:
            champion = registry.alias_version(self.spec.name, registry.CHAMPION)
            return DayOutcome(day.isoformat(), status, summary.get("rows"), champion, share,
                              decision, training, time.monotonic() - started,
                              failures)  # fmt: skip

        if ingest.state != "success":
            failures.append(self._failure(day, ingest))
            return outcome("not monitored: no validated data")
        try:
            if self.platform:
                self._follow(day, lambda: runner.follow_asset_run(
                    self.settings, self.spec.dag_id("score"), day))  # fmt: skip
                self._follow(day, lambda: runner.follow_asset_run(
                    self.settings, self.spec.dag_id("monitor"), day))  # fmt: skip
            else:
                self._must(day, self._run("score", {"date": day.isoformat()}))
                self._must(day, self._run("monitor", {"date": day.isoformat()}))
        except LoopError as exc:
            failures.append(exc.failure)
            return outcome(f"not monitored: {exc.failure.dag_id} failed")
        record = monitoring.day_record(self._lake(), day) or {}
        decision = record.get("decision") or {}
        training = None
        if decision.get("action") == "retrain":
            try:
                training = self._train(day, decision)
            except LoopError as exc:
                failures.append(exc.failure)
                training = f"failed: {'; '.join(exc.failure.errors) or exc.failure.state}"
        share = (record.get("drift") or {}).get("drift_share")
        return outcome(f"{decision.get('action', '?')}: {decision.get('reason', '')}", training,
                       share)  # fmt: skip

    def _failure(self, day: date, result: runner.RunResult) -> RunFailure:
        """What failed in ``result``, with the errors its failed tasks notified; logged."""
        bad = {t: s for t, s in result.tasks.items() if s not in ("success", "skipped")}
        bad = dict(sorted(bad.items(), key=lambda item: item[1] != "failed"))  # causes first
        failure = RunFailure(day.isoformat(), result.dag_id, result.run_id, result.state, bad,
                             self._errors(result.run_id), result.log)  # fmt: skip
        log.error("DAG run failed: %s", failure)
        return failure

    def _errors(self, run_id: str) -> list[str]:
        """The ``failure`` notifications of run ``run_id`` (one per failed task, from the
        tasks' failure callback), from the lake's outbox."""
        folder = self._lake().base / "notifications"
        try:
            paths = sorted(folder.glob("failure-*.json"), key=lambda p: p.name)
            records = [json.loads(p.read_text()) for p in paths]
        except (OSError, ValueError) as exc:  # the summary still names the run and its tasks
            return [f"(failure notifications unreadable: {exc})"]
        return [r["message"] for r in records if r.get("run_id") == run_id]

    def _must(self, day: date, result: runner.RunResult) -> runner.RunResult:
        if result.state != "success":
            raise LoopError(self._failure(day, result))
        return result

    def _follow(self, day: date, follow: Callable[[], Any]) -> Any:
        """A run the scheduler started, followed to its end; a failure as :class:`LoopError`."""
        try:
            return follow()
        except runner.RunFailed as exc:
            raise LoopError(self._failure(day, exc.result)) from None

    def _train(self, day: date, decision: dict[str, Any]) -> str:
        """Serve the day's retrain request: follow the scheduler's run, or run it here."""
        from airloop.core.model import ledger
        from airloop.core.monitor import monitoring

        key = decision["key"]
        if self.platform:
            claim = runner.wait_for(lambda: monitoring.claim_of(self._lake(), key), 300, 0.25)
            self._follow(day, lambda: runner.follow_run(
                self.settings, claim["dag_id"], claim["run_id"]))  # fmt: skip
        else:
            request = monitoring.request(self._lake(), key) or {}
            conf = {
                "request_key": key, "end_date": decision["window"][1],
                "window_days": request.get("window_days"), "reason": decision["reason"][:400],
                "trigger": "drift",
            }  # fmt: skip
            self._must(day, self._run("train", conf))
        served = [e for e in ledger.entries(self._lake()) if key in (e.get("request_keys") or [])]
        if not served:
            return f"request {key} served (see the ledger)"
        e = served[-1]
        return f"{e['action']} v{e['to_version']} (vs {e['from_version']}): {e['reason']}"

    def run(
        self, start: date, end: date, progress: Callable[[DayOutcome], None] | None = None
    ) -> list[DayOutcome]:
        """Every day from ``start`` to ``end``, whatever failed on the days before."""
        days = []
        day = start
        while day <= end:
            outcome = self.day(day)
            days.append(outcome)
            if progress:
                progress(outcome)
            day += timedelta(days=1)
        return days
