"""The manual rollback DAG: champion ← previous champion (or a chosen version), with a reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from airloop.airflow import assets
from airloop.airflow.defaults import DEFAULT_ARGS, tags
from airloop.spec import PipelineSpec


def _rollback_task(pipeline: str) -> Any:
    @task(
        task_id="rollback_champion", pool="airloop_promotion", outlets=[assets.champion(pipeline)]
    )
    def rollback_champion(pipeline: str) -> dict[str, Any]:
        """Flip @champion back and write the ledger; an unknown version fails clearly."""
        from airloop.airflow.runtime import lake_root
        from airloop.core import ledger, promotion
        from airloop.core.lake import Lake

        context = get_current_context()
        params = context["params"]
        lake = Lake(lake_root(), pipeline)
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
    with DAG(
        dag_id=spec.dag_id("rollback"),
        description=f"Roll the {spec.name} champion back",
        schedule=None,
        start_date=datetime.combine(spec.start_date, datetime.min.time(), tzinfo=UTC),
        default_args={**DEFAULT_ARGS, "retries": 1},
        tags=tags("rollback", spec.name),
        params={
            "to_version": Param(
                None,
                type=["null", "integer"],
                minimum=1,
                title="Version",
                description="Empty = the previous champion",
            ),
            "reason": Param(None, type="string", minLength=3, title="Reason"),
        },
        doc_md=__doc__,
    ) as dag:
        _rollback_task(spec.name)(spec.name)
    _ = uuid
    return dag
