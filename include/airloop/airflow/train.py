"""The train DAG: train challenger → evaluate vs champion → (approve) → promote, all ledgered."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airloop.airflow import assets
from airloop.airflow.defaults import optional_date_param, pipeline_dag
from airloop.spec import PipelineSpec

log = logging.getLogger(__name__)
PROMOTION_POOL = "airloop_promotion"


def _setup(pipeline: str) -> tuple[Any, Any, dict[str, Any]]:
    from airloop.airflow.runtime import lake_root
    from airloop.core.lake import Lake
    from airloop.spec import load_pipeline

    spec = load_pipeline(pipeline)
    return spec, Lake(lake_root(), spec.name), get_current_context()


def _end_date(context: dict[str, Any]) -> date:
    """The window's last day: the param, the triggering partitions' latest date, or the run's."""
    chosen = context["params"].get("end_date")
    if chosen:
        return date.fromisoformat(str(chosen))
    dates = [
        e.extra.get("date")
        for events in (context.get("triggering_asset_events") or {}).values()
        for e in events
        if getattr(e, "extra", None) and e.extra.get("date")
    ]
    if dates:
        return date.fromisoformat(max(dates))
    start = context.get("data_interval_start") or context.get("logical_date")
    if start is None:
        raise AirflowFailException("no end date: set the 'end_date' param (YYYY-MM-DD)")
    return start.date()


def _trigger(context: dict[str, Any]) -> str:
    asked = context["params"].get("trigger", "auto")
    if asked != "auto":
        return asked
    events = context.get("triggering_asset_events") or {}
    if any("retrain_request" in str(getattr(a, "uri", a)) for a in events):
        return "drift"
    run_type = getattr(context.get("dag_run"), "run_type", "manual")
    return "manual" if "manual" in str(getattr(run_type, "value", run_type)).lower() else "schedule"


def _code_version() -> str:
    """``AIRLOOP_CODE_VERSION`` (set by images/CI), else the package version + git commit."""
    import os

    from airloop import __version__
    from airloop.settings import load_settings

    if os.environ.get("AIRLOOP_CODE_VERSION"):
        return os.environ["AIRLOOP_CODE_VERSION"]
    git = load_settings().project_root / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        sha = (git / head[5:]).read_text().strip() if head.startswith("ref: ") else head
    except OSError:  # not a checkout (e.g. an installed image) or a packed ref
        return __version__
    return f"{__version__}+{sha[:12]}"


def _at(context: dict[str, Any]) -> datetime:
    """The audit time of a decision: when this task try started (not wall-clock in logic)."""
    return context["ti"].start_date or context["dag_run"].run_after


@task
def train_challenger(pipeline: str) -> dict[str, Any]:
    """Fit on the window of validated partitions; log to MLflow; register as @challenger."""
    from airloop.core import challenger
    from airloop.core.training import NotEnoughData

    spec, lake, context = _setup(pipeline)
    params = context["params"]
    end = _end_date(context)
    run_tags = {
        "dag_id": context["dag"].dag_id,
        "airflow_run_id": context["run_id"],
        "code_version": _code_version(),
        "trigger": _trigger(context),
        "reason": str(params.get("reason") or "")[:500],
    }
    try:
        trained = challenger.train(
            lake,
            spec,
            end,
            run_tags,
            params.get("window_days"),
            params.get("estimator_params") or None,
        )
    except (NotEnoughData, ValueError) as exc:
        raise AirflowFailException(str(exc)) from exc  # retrying cannot add data or fix params
    log.info(
        "Challenger %s v%s (run %s)%s",
        spec.name,
        trained["version"],
        trained["run_id"],
        " reused from an earlier try" if trained["reused"] else f": {trained.get('metrics')}",
    )
    return {**trained, "end": end.isoformat(), "trigger": run_tags["trigger"]}


@task
def evaluate_challenger(pipeline: str, trained: dict[str, Any]) -> dict[str, Any]:
    """Both models on the same holdout → promote / reject / inconclusive, with the evidence."""
    from airloop.core import challenger

    spec, _, context = _setup(pipeline)
    record = challenger.evaluate(spec, trained, force=bool(context["params"].get("force")))
    log.info(
        "Decision for v%s vs champion %s: %s — %s",
        record["challenger_version"],
        record["champion_version"],
        record["outcome"],
        record["reason"],
    )
    return {
        **record,
        "trigger": "initial" if record["champion_version"] is None else trained["trigger"],
        "run_id": trained["run_id"],
    }


def _route(approval: str) -> Any:
    @task.branch(task_id="route_decision")
    def route_decision(evaluation: dict[str, Any]) -> list[str]:
        """Only a 'promote' decision goes on; everything else is ledgered by record_outcome."""
        if evaluation["outcome"] != "promote":
            return []
        return ["approve_promotion"] if approval == "required" else ["promote_champion"]

    return route_decision


def _promote(pipeline: str) -> Any:
    @task(task_id="promote_champion", pool=PROMOTION_POOL, outlets=[assets.champion(pipeline)])
    def promote_champion(pipeline: str, evaluation: dict[str, Any]) -> dict[str, Any]:
        """Flip @champion (re-checked against the evaluation), set @previous_champion, ledger."""
        from airloop.core import ledger, promotion

        spec, lake, context = _setup(pipeline)
        key = ledger.entry_key(context["dag"].dag_id, context["run_id"])
        result = promotion.promote(
            lake,
            spec.name,
            evaluation["challenger_version"],
            evaluation["champion_version"],
            evaluation,
            evaluation["trigger"],
            evaluation["reason"],
            _at(context),
            key,
        )
        if not result["promoted"]:
            raise AirflowSkipException(result["reason"])
        context["outlet_events"][assets.champion(pipeline)].extra = {
            "version": result["champion"],
            "previous": result["previous"],
            "trigger": evaluation["trigger"],
            "reason": evaluation["reason"],
        }
        log.info("%s champion: v%s (was %s)", spec.name, result["champion"], result["previous"])
        return result

    return promote_champion


@task(trigger_rule="all_done")
def record_outcome(pipeline: str, evaluation: dict[str, Any]) -> dict[str, Any]:
    """Ledger every decision that did not promote (reject, inconclusive, refused approval)."""
    from airloop.core import ledger

    _, lake, context = _setup(pipeline)
    key = ledger.entry_key(context["dag"].dag_id, context["run_id"])
    if ledger.has_entry(lake, key):  # promoted (or aborted) and ledgered by promote_champion
        return {"recorded": False}
    action, reason = evaluation["outcome"], evaluation["reason"]
    approval = context["ti"].xcom_pull(task_ids="approve_promotion", key=APPROVAL_ANSWER)
    if action == "promote":
        if approval and "Reject" in list(approval.get("chosen_options") or []):
            said = (approval.get("params_input") or {}).get("reason") or "no reason given"
            action, reason = "reject", f"rejected by approver: {said}"
        else:
            raise AirflowFailException("promotion did not happen; see promote_champion's log")
    entry = ledger.record(
        lake,
        key,
        _at(context),
        action,
        evaluation["champion_version"],
        evaluation["challenger_version"],
        evaluation["trigger"],
        reason,
        evaluation,
    )
    log.info("Ledger: %s v%s — %s", action, evaluation["challenger_version"], reason)
    return entry


APPROVAL_ANSWER = "answer"


def _approval_operator() -> type:
    """Airflow's HITL ApprovalOperator, also keeping the answer for the ledger.

    On "Reject" the stock operator skips downstream tasks before its return value reaches XCom,
    so the approver's reason would be lost; we push the answer under our own key first.
    """
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    class LedgeredApprovalOperator(ApprovalOperator):
        def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
            if "error" not in event:
                context["ti"].xcom_push(
                    key=APPROVAL_ANSWER,
                    value={
                        "chosen_options": list(event.get("chosen_options") or []),
                        "params_input": event.get("params_input") or {},
                    },
                )
            return super().execute_complete(context, event)

    return LedgeredApprovalOperator


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__train``: on new validated data, on request, or by hand."""
    approval = spec.promotion.approval if spec.promotion else "none"
    params = {
        "end_date": optional_date_param("Window end", "Last day of the window; empty = latest"),
        "window_days": Param(None, type=["null", "integer"], minimum=2, title="Window days",
                             description=f"Default {spec.training.window_days}"),
        "estimator_params": Param({}, type="object", title="Estimator parameter overrides"),
        "reason": Param("", type="string", title="Reason", description="Why you retrain"),
        "force": Param(False, type="boolean", title="Force",
                       description="Promote without statistical evidence (never below the "
                                   "floor, never with a regression)"),
        "trigger": Param("auto", enum=["auto", "manual", "schedule", "drift"],
                         title="Trigger (for the ledger)"),
    }  # fmt: skip
    schedule = assets.validated(spec.name) | assets.retrain_request(spec.name)
    description = f"Train, evaluate and promote {spec.name} models"
    with pipeline_dag(spec, "train", description, schedule, params) as dag:
        dag.doc_md = __doc__
        trained = train_challenger(spec.name)
        evaluation = evaluate_challenger(spec.name, trained)
        routed = _route(approval)(evaluation)
        promoted = _promote(spec.name)(spec.name, evaluation)
        if approval == "required":
            gate = _approval_operator()(
                task_id="approve_promotion",
                subject=f"Promote a new {spec.name} champion?",
                body=(
                    "Challenger v{{ ti.xcom_pull(task_ids='evaluate_challenger')"
                    "['challenger_version'] }} vs champion "
                    "{{ ti.xcom_pull(task_ids='evaluate_challenger')['champion_version'] }}: "
                    "{{ ti.xcom_pull(task_ids='evaluate_challenger')['reason'] }}"
                ),
                params={"reason": Param("", type="string", title="Reason")},
            )
            routed >> gate >> promoted
        else:
            routed >> promoted
        promoted >> record_outcome(spec.name, evaluation)
    return dag
