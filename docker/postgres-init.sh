#!/usr/bin/env bash
# First start of the postgres volume: one database and one role each for Airflow and MLflow.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
  -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v mlflow_pw="$MLFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_pw';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_pw';
CREATE DATABASE mlflow OWNER mlflow;
SQL
