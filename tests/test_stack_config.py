"""The stack profile's configuration and its local S3, without starting the stack."""

from __future__ import annotations

import configparser
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from _support import free_port
from airloop.platform import airflow_config, secrets, stack, stack_setup
from airloop.platform.runner import wait_for
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


def test_local_s3_keeps_objects_across_a_stop(tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "s3.pkl"
    config = stack.load_stack({"AIRLOOP_S3_PORT": str(port), "AIRLOOP_STACK_NAME": "keep"})
    keys = {"s3_access_key": "k", "s3_secret_key": "s"}
    argv = [sys.executable, "-m", "airloop.platform.local_s3", "--port", str(port),
            "--state", str(state)]  # fmt: skip

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack_setup.ensure_bucket(config, keys, timeout_s=60)
        return proc

    proc = start()
    try:
        client = stack_setup.s3_client(config, keys)
        client.put_object(Bucket=config.bucket, Key="lake/a.txt", Body=b"kept")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0 and state.exists()
        with pytest.raises(Exception, match="Could not connect to the endpoint URL"):
            client.list_objects_v2(Bucket=config.bucket)
        proc = start()
        body = client.get_object(Bucket=config.bucket, Key="lake/a.txt")["Body"].read()
        assert body == b"kept"
        wait_for(lambda: proc.poll() is None, 5)
    finally:
        proc.kill()
        proc.wait()


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
