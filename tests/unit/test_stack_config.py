"""The stack profile's configuration, without starting the stack (its S3: test_local_s3_server)."""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pytest

from airloop.platform import airflow_config, secrets, stack
from airloop.settings import load_settings


def test_defaults_fit_this_machine_and_names_are_checked() -> None:
    config = stack.load_stack({})
    assert (config.name, config.bucket, config.queue) == ("airloop", "airloop-lake", "airloop")
    assert config.local_s3 and config.endpoint == "http://127.0.0.1:5002"
    assert stack.services(config)[0] == "s3" and stack.worker_names(config) == [
        "celery-worker-1",
        "celery-worker-2",
    ]
    external = stack.load_stack(
        {"AIRLOOP_S3_ENDPOINT": "https://s3.example", "AIRLOOP_CELERY_WORKERS": "3"}
    )
    assert "s3" not in stack.services(external) and len(stack.worker_names(external)) == 3
    with pytest.raises(ValueError, match="AIRLOOP_STACK_NAME"):
        stack.load_stack({"AIRLOOP_STACK_NAME": "Robert'); DROP TABLE"})
    with pytest.raises(ValueError, match="AIRLOOP_CELERY_WORKERS"):
        stack.load_stack({"AIRLOOP_CELERY_WORKERS": "many"})


def test_external_s3_without_credentials_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("AIRLOOP_S3_ACCESS_KEY", raising=False)
    config = stack.load_stack({"AIRLOOP_S3_ENDPOINT": "https://s3.example"})
    with pytest.raises(ValueError, match="AIRLOOP_S3_ACCESS_KEY"):
        stack.s3_credentials(config, {})


def test_airflow_cfg_runs_celery_on_postgres_with_generated_secrets(tmp_path: Path) -> None:
    settings = load_settings({"AIRLOOP_HOME": str(tmp_path)})
    values = secrets.load_or_create(tmp_path / "secrets.json")
    config = stack.load_stack({"AIRLOOP_STACK_NAME": "demo"})
    airflow_config.write(settings, values, stack.airflow_cfg(config, values))
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(settings.airflow_home / "airflow.cfg")
    assert cfg["core"]["executor"] == "CeleryExecutor"
    conn = cfg["database"]["sql_alchemy_conn"]
    assert conn.startswith("postgresql+psycopg2://demo_airflow:") and conn.endswith("/demo_airflow")
    assert values["airflow_db_password"] in conn
    assert cfg["celery"]["result_backend"] == f"db+{conn}"
    assert cfg["operators"]["default_queue"] == "demo"
    assert cfg["celery"]["celery_config_options"].endswith("celery_config.CELERY_CONFIG")
    ini = stack.mlflow_auth_ini(config, values)
    assert "/demo_mlflow_auth" in ini and "admin_password" not in ini  # it comes from the env
    env = stack.env(settings, config, values)
    aws = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert aws["extra"]["endpoint_url"] == config.endpoint
    assert env["AIRLOOP_LAKE_URI"] == "s3://aws_default@demo-lake/lake"


def test_secrets_files_from_older_versions_gain_the_missing_keys(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"admin_password": "kept"}))
    values = secrets.load_or_create(path)
    assert values["admin_password"] == "kept" and len(values["serving_token"]) > 30
    assert secrets.load_or_create(path) == values  # stable once created
    assert path.stat().st_mode & 0o777 == 0o600


def test_airflow_users_come_from_the_environment_with_generated_passwords(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("AIRLOOP_USERS", "alice:op, bob:viewer")
    settings = load_settings({"AIRLOOP_HOME": str(tmp_path)})
    values = secrets.load_or_create(tmp_path / "secrets.json")
    airflow_config.write(settings, values)
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(settings.airflow_home / "airflow.cfg")
    assert cfg["core"]["simple_auth_manager_users"] == "admin:admin,alice:op,bob:viewer"
    passwords = json.loads(Path(cfg["core"]["simple_auth_manager_passwords_file"]).read_text())
    assert set(passwords) == {"admin", "alice", "bob"}
    assert len(set(passwords.values())) == 3 and "admin" not in passwords.values()
    again = secrets.ensure_user_passwords(tmp_path / "secrets.json", ["alice"])
    assert again["alice"] == passwords["alice"]  # stable across restarts
    with pytest.raises(ValueError, match="AIRLOOP_USERS entry 'carol:root'"):
        airflow_config.users("carol:root")
