"""The train DAG: train challenger → evaluate vs champion → (approve) → promote, all ledgered."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airloop.airflow import assets
from airloop.airflow import run_context as rc
from airloop.airflow.approval import APPROVAL_ANSWER, approval_operator
from airloop.airflow.defaults import optional_date_param, pipeline_dag
from airloop.airflow.links import push_links
from airloop.airflow.notify import notify
from airloop.spec import PipelineSpec

log = logging.getLogger(__name__)
PROMOTION_POOL = "airloop_promotion"


def _setup(pipeline: str) -> tuple[Any, Any, dict[str, Any]]:
    from airloop.airflow.runtime import lake_root
    from airloop.core.lake import Lake
    from airloop.spec import load_pipeline

    spec = load_pipeline(pipeline)
    return spec, Lake(lake_root(), spec.name), get_current_context()


def _model_links(name: str, version: int, run_id: str) -> dict[str, str | None]:
    from airloop.airflow.links import mlflow_model_version_url, mlflow_run_url
    from airloop.core import registry

    return {
        "MLflow run": mlflow_run_url(registry.run_experiment_id(run_id), run_id),
        "Model version": mlflow_model_version_url(name, version),
    }


@task.short_circuit(ignore_downstream_trigger_rules=True)
def claim_request(pipeline: str) -> bool:
    """Serve each retrain request once: the first run to claim it trains, any other stops here.

    Requests are deduped where they are made, but the same request can still start two runs
    (an Asset-triggered one and a manual one, or a retried trigger); the claim is exclusive.
    """
    from airloop.core import monitoring

    _, lake, context = _setup(pipeline)
    mine = True
    for key in rc.request_keys(context):
        holder = monitoring.claim(lake, key, context["dag"].dag_id, context["run_id"])
        if holder["run_id"] != context["run_id"]:
            log.warning("Request %s is already served by run %s; not training", key, holder)
            mine = False
    return mine


@task(multiple_outputs=False)
def train_challenger(pipeline: str) -> dict[str, Any]:
    """Fit on the window of validated partitions; log to MLflow; register as @challenger."""
    from airloop.core import challenger
    from airloop.core.failpoints import failpoint
    from airloop.core.training import NotEnoughData

    spec, lake, context = _setup(pipeline)
    end = rc.end_date(context)
    run_tags = {
        "dag_id": context["dag"].dag_id,
        "airflow_run_id": context["run_id"],
        "code_version": rc.code_version(),
        "trigger": rc.trigger(context),
        "reason": rc.reason(context),
        "request_keys": ",".join(rc.request_keys(context)),
    }
    try:
        trained = challenger.train(
            lake,
            spec,
            end,
            run_tags,
            rc.window_days(context),
            context["params"].get("estimator_params") or None,
        )
    except (NotEnoughData, ValueError) as exc:
        raise AirflowFailException(str(exc)) from exc  # retrying cannot add data or fix params
    # All MLflow work is done but Airflow does not know: a crash here (task, worker or scheduler)
    # makes Airflow run a task whose work exists, which must reuse it, not train again.
    failpoint("train.before_success")
    log.info(
        "Challenger %s v%s (run %s)%s",
        spec.name,
        trained["version"],
        trained["run_id"],
        " reused from an earlier try" if trained["reused"] else f": {trained.get('metrics')}",
    )
    push_links(context, _model_links(spec.name, trained["version"], trained["run_id"]))
    return {
        **trained,
        "end": end.isoformat(),
        "trigger": run_tags["trigger"],
        "request_keys": rc.request_keys(context),
    }


@task(multiple_outputs=False)
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
    push_links(context, _model_links(spec.name, trained["version"], trained["run_id"]))
    return {
        **record,
        "trigger": "initial" if record["champion_version"] is None else trained["trigger"],
        "run_id": trained["run_id"],
        "end": trained["end"],
        "request_keys": trained.get("request_keys", []),
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
    @task(
        task_id="promote_champion",
        pool=PROMOTION_POOL,
        outlets=[assets.champion(pipeline)],
        multiple_outputs=False,
    )
    def promote_champion(pipeline: str, evaluation: dict[str, Any]) -> dict[str, Any]:
        """Flip @champion (re-checked against the evaluation), set @previous_champion, ledger."""
        from airloop.core import ledger, promotion, registry

        spec, lake, context = _setup(pipeline)
        key = ledger.entry_key(context["dag"].dag_id, context["run_id"])
        try:
            result = promotion.promote(
                lake,
                spec.name,
                evaluation["challenger_version"],
                evaluation["champion_version"],
                evaluation,
                evaluation["trigger"],
                evaluation["reason"],
                rc.decided_at(context),
                key,
                evaluation["end"],
                evaluation.get("request_keys", []),
            )
        except Exception as exc:
            if not registry.unreachable(exc):
                raise
            # promote() re-checks @champion on every try, so a retry finishes or repeats the flip.
            raise RuntimeError(
                f"MLflow tracking server {registry.tracking_uri()} is unreachable: challenger "
                f"v{evaluation['challenger_version']} is not promoted and @champion stays "
                f"v{evaluation['champion_version']} (a retry completes the promotion once the "
                f"server is back). Cause: {type(exc).__name__}: {str(exc)[:300]}"
            ) from exc
        if not result["promoted"]:
            raise AirflowSkipException(result["reason"])
        context["outlet_events"][assets.champion(pipeline)].extra = {
            "version": result["champion"],
            "previous": result["previous"],
            "trigger": evaluation["trigger"],
            "reason": evaluation["reason"],
        }
        log.info("%s champion: v%s (was %s)", spec.name, result["champion"], result["previous"])
        links = _model_links(spec.name, result["champion"], evaluation["run_id"])
        push_links(context, links)
        notify(
            spec.name,
            "promotion",
            f"v{result['champion']} is champion (was {result['previous']}; "
            f"trigger {evaluation['trigger']}): {evaluation['reason']}",
            links,
            context,
        )
        return result

    return promote_champion


# none_failed: runs after a skipped promotion (decided or refused), never after a failure, so a
# failed training or promotion leaves the run failed (the run's state follows its leaf tasks).
@task(trigger_rule="none_failed", multiple_outputs=False)
def record_outcome(pipeline: str, evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """Ledger every decision that did not promote (reject, inconclusive, refused approval)."""
    from airloop.core import ledger

    spec, lake, context = _setup(pipeline)
    if evaluation is None:  # training or evaluation failed: nothing was decided to record
        return {"recorded": False}
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
        rc.decided_at(context),
        action,
        evaluation["champion_version"],
        evaluation["challenger_version"],
        evaluation["trigger"],
        reason,
        evaluation,
        data_date=evaluation["end"],
        request_keys=evaluation.get("request_keys", []),
    )
    log.info("Ledger: %s v%s — %s", action, evaluation["challenger_version"], reason)
    notify(
        spec.name,
        "rejection",
        f"challenger v{evaluation['challenger_version']} not promoted ({action}): {reason}",
        _model_links(spec.name, evaluation["challenger_version"], evaluation["run_id"]),
        context,
    )
    return entry


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__train``: on monitoring's retrain requests, or by hand."""
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
        "request_key": Param(None, type=["null", "string"], title="Retrain request key",
                             description="Serve this monitoring request (claimed once)"),
    }  # fmt: skip
    # Monitoring decides when to retrain (drift policy, dedupe, budget); new data alone does not.
    schedule = assets.retrain_request(spec.name)
    description = f"Train, evaluate and promote {spec.name} models"
    with pipeline_dag(spec, "train", description, schedule, params) as dag:
        dag.doc_md = __doc__
        trained = train_challenger(spec.name)
        claim_request(spec.name) >> trained
        evaluation = evaluate_challenger(spec.name, trained)
        routed = _route(approval)(evaluation)
        promoted = _promote(spec.name)(spec.name, evaluation)
        if approval == "required":
            gate = approval_operator()(
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
