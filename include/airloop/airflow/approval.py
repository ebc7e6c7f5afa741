"""Human approval of a promotion: Airflow's HITL ApprovalOperator, keeping the answer."""

from __future__ import annotations

from typing import Any

APPROVAL_ANSWER = "answer"


def approval_operator() -> type:
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
