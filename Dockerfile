# The Airloop image: Airflow's official image + the project's lock + the airloop package.
# Used by every Airflow service in docker-compose.yml, the MLflow server and the model server.
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
USER airflow

# The lock first (cached layer): the same pins as `make up` installs, so one tested stack.
COPY --chown=airflow:root requirements.txt /opt/airloop/requirements.txt
RUN pip install --no-cache-dir -r /opt/airloop/requirements.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/airloop/
COPY --chown=airflow:root include /opt/airloop/include
RUN pip install --no-cache-dir --no-deps -e /opt/airloop

COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root great_expectations /opt/airloop/great_expectations
ENV AIRLOOP_PROJECT_ROOT=/opt/airloop \
    AIRLOOP_GX_DIR=/opt/airloop/great_expectations \
    AIRLOOP_PIPELINES_DIR=/opt/airloop/include/pipelines
