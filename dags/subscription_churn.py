"""DAGs of the ``subscription_churn`` pipeline (spec: include/pipelines/subscription_churn.yaml)."""

from airloop.airflow.factory import build_pipeline_dags

globals().update(build_pipeline_dags("subscription_churn"))
