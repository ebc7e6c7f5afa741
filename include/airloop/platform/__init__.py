"""Runs the local Airloop platform: Airflow and MLflow processes on loopback (no Docker).

Standard library only; Airflow and MLflow are started as subprocesses from the venv.
"""
