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


def _model_links(name: str, version: int, run_id: str) -> dict[str, str | None]:
    from airloop.airflow.links import mlflow_model_version_url, mlflow_run_url
    from airloop.core.model import registry

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
    from airloop.core.model import retraining
    from airloop.project import open_pipeline

    context = get_current_context()
    held = retraining.claim_requests(
        open_pipeline(pipeline), rc.request_keys(context), rc.run_ref(context)
    )
    for key, holder in held.items():
        log.warning("Request %s is already served by run %s; not training", key, holder)
    return not held


@task(multiple_outputs=False)
def train_challenger(pipeline: str) -> dict[str, Any]:
    """Fit on the window of validated partitions; log to MLflow; register as @challenger."""
    from airloop.core.failpoints import failpoint
    from airloop.core.model import retraining
    from airloop.core.model.training import NotEnoughData
    from airloop.project import open_pipeline

    context = get_current_context()
    opened = open_pipeline(pipeline)
    try:
        trained = retraining.train_challenger(
            opened, rc.train_request(context), rc.run_ref(context)
        )
    except (NotEnoughData, ValueError) as exc:
        raise AirflowFailException(str(exc)) from exc  # retrying cannot add data or fix params
    # All MLflow work is done but Airflow does not know: a crash here (task, worker or scheduler)
    # makes Airflow run a task whose work exists, which must reuse it, not train again.
    failpoint("train.before_success")
    log.info(
        "Challenger %s v%s (run %s)%s",
        opened.name,
        trained.version,
        trained.run_id,
        " reused from an earlier try" if trained.reused else f": {trained.metrics}",
    )
    push_links(context, _model_links(opened.name, trained.version, trained.run_id))
    return trained.to_xcom()


@task(multiple_outputs=False)
def evaluate_challenger(pipeline: str, trained: dict[str, Any]) -> dict[str, Any]:
    """Both models on the same holdout → promote / reject / inconclusive, with the evidence."""
    from airloop.core.model import retraining
    from airloop.project import open_pipeline

    context = get_current_context()
    challenger = retraining.Trained.from_xcom(trained)
    evaluation = retraining.evaluate_challenger(
        open_pipeline(pipeline), challenger, force=bool(context["params"].get("force"))
    )
    log.info(
        "Decision for v%s vs champion %s: %s — %s",
        evaluation.challenger_version,
        evaluation.champion_version,
        evaluation.outcome,
        evaluation.reason,
    )
    push_links(context, _model_links(pipeline, challenger.version, challenger.run_id))
    return evaluation.to_xcom()


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
        from airloop.core.model import registry, retraining
        from airloop.project import open_pipeline

        context = get_current_context()
        decided = retraining.Evaluation.from_xcom(evaluation)
        try:
            result = retraining.promote_challenger(
                open_pipeline(pipeline), decided, rc.run_ref(context), rc.decided_at(context)
            )
        except Exception as exc:
            if not registry.unreachable(exc):
                raise
            # promote() re-checks @champion on every try, so a retry finishes or repeats the flip.
            raise RuntimeError(
                f"MLflow tracking server {registry.tracking_uri()} is unreachable: challenger "
                f"v{decided.challenger_version} is not promoted and @champion stays "
                f"v{decided.champion_version} (a retry completes the promotion once the "
                f"server is back). Cause: {type(exc).__name__}: {str(exc)[:300]}"
            ) from exc
        if not result.promoted:
            raise AirflowSkipException(result.reason)
        context["outlet_events"][assets.champion(pipeline)].extra = {
            "version": result.champion,
            "previous": result.previous,
            "trigger": decided.trigger,
            "reason": decided.reason,
        }
        log.info("%s champion: v%s (was %s)", pipeline, result.champion, result.previous)
        links = _model_links(pipeline, decided.challenger_version, decided.run_id)  # the new one
        push_links(context, links)
        notify(
            pipeline,
            "promotion",
            f"v{result.champion} is champion (was {result.previous}; "
            f"trigger {decided.trigger}): {decided.reason}",
            links,
            context,
        )
        return result.to_xcom()

    return promote_champion


# none_failed: runs after a skipped promotion (decided or refused), never after a failure, so a
# failed training or promotion leaves the run failed (the run's state follows its leaf tasks).
@task(trigger_rule="none_failed", multiple_outputs=False)
def record_outcome(pipeline: str, evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """Ledger every decision that did not promote (reject, inconclusive, refused approval)."""
    from airloop.core.model import retraining
    from airloop.core.model.promotion import PromotionError
    from airloop.project import open_pipeline

    context = get_current_context()
    if evaluation is None:  # training or evaluation failed: nothing was decided to record
        return {"recorded": False}
    decided = retraining.Evaluation.from_xcom(evaluation)
    approval = context["ti"].xcom_pull(task_ids="approve_promotion", key=APPROVAL_ANSWER)
    rejected = None
    if approval and "Reject" in list(approval.get("chosen_options") or []):
        rejected = (approval.get("params_input") or {}).get("reason") or "no reason given"
    try:
        entry = retraining.record_outcome(
            open_pipeline(pipeline), decided, rc.run_ref(context), rc.decided_at(context),
            rejected_by_approver=rejected,
        )  # fmt: skip
    except PromotionError as exc:
        raise AirflowFailException(str(exc)) from exc
    if entry is None:  # promoted (or aborted) and ledgered by promote_champion
        return {"recorded": False}
    log.info("Ledger: %s v%s — %s", entry["action"], decided.challenger_version, entry["reason"])
    notify(
        pipeline,
        "rejection",
        f"challenger v{decided.challenger_version} not promoted ({entry['action']}): "
        f"{entry['reason']}",
        _model_links(pipeline, decided.challenger_version, decided.run_id),
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
