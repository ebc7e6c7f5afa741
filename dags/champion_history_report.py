"""Weekly: each pipeline's champion against every version it replaced, on last week's data.

A custom DAG built from Airloop's task library (README: "Write a custom DAG with the task
library"): one ``champion_history`` task per pipeline, reports in the lake under
``<pipeline>/history/``, a notification when an older version now does better.
"""

from datetime import UTC, datetime

from airflow.sdk import DAG, Param

from airloop.airflow.defaults import DEFAULT_ARGS, optional_date_param, tags
from airloop.airflow.tasks import champion_history, pipelines

with DAG(
    dag_id="reports__champion_history",
    description="Weekly champion-vs-history evaluation of every pipeline",
    schedule="@weekly",
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=tags("report"),
    params={
        "date": optional_date_param(
            "Last day", "The last day the report covers (default: the day before the run)"
        ),
        "days": Param(7, type="integer", minimum=1, maximum=90, title="Days",
                      description="How many days of validated data to evaluate on"),
    },
):  # fmt: skip
    for name in pipelines():
        champion_history.override(task_id=f"history__{name}")(name)
