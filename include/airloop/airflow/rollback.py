"""The manual rollback DAG: champion ← previous champion (or a chosen version), with a reason."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from airloop.airflow import assets
from airloop.airflow.defaults import DEFAULT_ARGS, pipeline_dag
from airloop.spec import PipelineSpec


def _rollback_task(pipeline: str) -> Any:
    @task(
        task_id="rollback_champion",
        pool="airloop_promotion",
        outlets=[assets.champion(pipeline)],
        multiple_outputs=False,
    )
    def rollback_champion(pipeline: str) -> dict[str, Any]:
        """Flip @champion back and write the ledger; an unknown version fails clearly."""
        from airloop.core.model import ledger, promotion
        from airloop.project import open_pipeline

        context = get_current_context()
        params = context["params"]
        lake = open_pipeline(pipeline).lake
        key = ledger.entry_key(context["dag"].dag_id, context["run_id"])
        to_version = params.get("to_version")
        try:
            result = promotion.rollback(
                lake,
                pipeline,
                str(params["reason"]),
                context["ti"].start_date,
                key,
                int(to_version) if to_version is not None else None,
            )
        except promotion.PromotionError as exc:
            raise AirflowFailException(str(exc)) from exc
        context["outlet_events"][assets.champion(pipeline)].extra = {
            "version": result["champion"],
            "previous": result["previous"],
            "trigger": "manual",
            "reason": f"rollback: {params['reason']}",
        }
        return {k: v for k, v in result.items() if k != "entry"}

    return rollback_champion


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__rollback``: manual only."""
    params = {
        "to_version": Param(None, type=["null", "integer"], minimum=1, title="Version",
                            description="Empty = the previous champion"),
        "reason": Param(None, type="string", minLength=3, title="Reason"),
    }  # fmt: skip
    description = f"Roll the {spec.name} champion back"
    with pipeline_dag(
        spec, "rollback", description, None, params, {**DEFAULT_ARGS, "retries": 1}
    ) as dag:
        dag.doc_md = __doc__
        _rollback_task(spec.name)(spec.name)
    return dag
