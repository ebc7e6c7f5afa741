"""Secrets are generated per installation and stored owner-only; airflow.cfg stays on loopback."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

from airloop.platform import airflow_config, secrets
from airloop.settings import load_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_random_per_installation_private_and_stable(tmp_path: Path) -> None:
    a = secrets.load_or_create(tmp_path / "a.json")
    b = secrets.load_or_create(tmp_path / "b.json")
    assert a["admin_password"] != b["admin_password"]
    assert a["admin_password"] not in {"admin", "airflow", "password"}
    assert len(a["admin_password"]) >= 20
    assert _mode(tmp_path / "a.json") == 0o600
    assert secrets.load_or_create(tmp_path / "a.json") == a  # second start keeps them


def test_airflow_config_is_loopback_localexecutor_sqlite_and_private(tmp_path: Path) -> None:
    settings = load_settings(
        {"AIRLOOP_HOME": str(tmp_path), "AIRLOOP_AIRFLOW_PORT": "18080", "AIRLOOP_PARALLELISM": "3"}
    )
    values = secrets.load_or_create(tmp_path / "secrets.json")
    airflow_config.write(settings, values)
    cfg_path = settings.airflow_home / "airflow.cfg"
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(cfg_path)
    assert cfg["core"]["executor"].endswith("local_executor.PreloadingLocalExecutor")
    assert cfg["core"]["parallelism"] == "3"
    assert cfg["core"]["load_examples"] == "False"
    assert cfg["core"]["dags_folder"] == str(settings.project_root / "dags")
    assert cfg["database"]["sql_alchemy_conn"].startswith("sqlite:///")
    assert cfg["api"]["host"] == "127.0.0.1" and cfg["api"]["port"] == "18080"
    assert _mode(cfg_path) == 0o600
    pw_file = Path(cfg["core"]["simple_auth_manager_passwords_file"])
    assert _mode(pw_file) == 0o600 and values["admin_password"] in pw_file.read_text()


def test_bad_port_setting_is_a_clear_error() -> None:
    import pytest

    with pytest.raises(ValueError, match="AIRLOOP_AIRFLOW_PORT='eighty'"):
        load_settings({"AIRLOOP_AIRFLOW_PORT": "eighty"})
