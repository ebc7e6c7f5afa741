"""docker-compose.yml and the Dockerfile: valid, secrets only from .env, the tested lock.

Validated with Debian's `docker-compose` (no engine needed); `.ci/run` installs it if missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from _support import REPO

COMPOSE = REPO / "docker-compose.yml"
SECRETS = re.compile(r"\$\{([A-Z_]*(PASSWORD|SECRET|KEY|TOKEN|USERS|PASSWORDS)[A-Z_]*)")
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed"
)


def _env_file(tmp_path: Path, drop: str | None = None) -> Path:
    lines = []
    for line in (REPO / ".env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            if key != drop:
                lines.append(f"{key}={value or 'generated-' + key.lower()}")
    path = tmp_path / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@needs_compose
def test_compose_is_valid_with_every_secret_set(tmp_path) -> None:
    done = _config(_env_file(tmp_path))
    assert done.returncode == 0, done.stderr


@needs_compose
@pytest.mark.parametrize("secret", ["POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "REDIS_PASSWORD"])
def test_compose_refuses_to_start_without_a_secret(tmp_path, secret) -> None:
    done = _config(_env_file(tmp_path, drop=secret))
    assert done.returncode != 0 and f"set {secret} in .env" in done.stderr


def test_secrets_have_no_defaults_and_every_one_is_documented() -> None:
    text = COMPOSE.read_text()
    used = {m.group(1) for m in SECRETS.finditer(text)}
    assert used, "the compose file reads its secrets from the environment"
    defaults = re.findall(r"\$\{[A-Z_]*(?:PASSWORD|SECRET|KEY|TOKEN)[A-Z_]*:-", text)
    assert defaults == [], f"secrets with defaults: {defaults}"
    documented = {line.split("=")[0] for line in (REPO / ".env.example").read_text().splitlines()}
    assert used <= documented, used - documented
    assert all(not v for k, v in (line.split("=", 1) for line in (
        REPO / ".env.example").read_text().splitlines() if "=" in line and not line.startswith("#"))
        if k in used), ".env.example must not carry secret values"  # fmt: skip


def test_services_have_healthchecks_and_wait_for_each_other() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    expected = {"postgres", "redis", "minio", "minio-init", "mlflow", "airflow-init",
                "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                "airflow-triggerer", "airflow-worker", "model-server"}  # fmt: skip
    assert set(services) == expected
    one_shot = {"minio-init", "airflow-init"}
    for name, service in services.items():
        assert name in one_shot or "healthcheck" in service, name
    worker = services["airflow-worker"]
    assert worker["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "ports" not in worker and "container_name" not in worker  # scalable with --scale
    assert all(p.startswith("127.0.0.1:") for s in services.values() for p in s.get("ports", []))


def test_the_image_is_the_locked_airflow_with_the_lock_installed() -> None:
    locked = re.search(r"^apache-airflow==(\S+)$", (REPO / "requirements.txt").read_text(), re.M)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"FROM apache/airflow:{locked.group(1)}-python3.11" in dockerfile
    assert "pip install --no-cache-dir -r /opt/airloop/requirements.txt" in dockerfile
