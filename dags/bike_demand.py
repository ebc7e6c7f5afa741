"""DAGs of the ``bike_demand`` pipeline (spec: include/pipelines/bike_demand.yaml)."""

from airloop.airflow.factory import build_pipeline_dags

globals().update(build_pipeline_dags("bike_demand"))
