"""Platform self-check DAG: trigger it to prove scheduler, workers, lake and MLflow work."""

from airloop.airflow.platform_check import build

dag = build()
