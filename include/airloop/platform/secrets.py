"""Secrets of the local platform, generated on first start and stored owner-only.

Nothing here is a default: every installation gets its own admin password and keys.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

ADMIN_USER = "admin"


def write_private(path: Path, text: str) -> None:
    """Atomically write ``text`` to ``path`` readable by the owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _generate() -> dict[str, str]:
    token = secrets.token_urlsafe
    return {
        "admin_password": token(18),
        # A Fernet key is 32 random bytes, urlsafe-base64 encoded.
        "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "jwt_secret": token(48),
        "api_secret_key": token(32),
        # Used by the stack profile only (PostgreSQL roles, MLflow auth, model server, local S3).
        "airflow_db_password": token(24),
        "mlflow_db_password": token(24),
        "mlflow_admin_password": token(18),
        "mlflow_flask_secret": token(32),
        "serving_token": token(32),
        "s3_access_key": "airloop" + secrets.token_hex(6),
        "s3_secret_key": token(30),
    }


def load_or_create(path: Path) -> dict[str, str]:
    """Return the installation's secrets, creating the missing ones once."""
    values = json.loads(path.read_text()) if path.exists() else {}
    missing = {k: v for k, v in _generate().items() if k not in values}
    if missing:
        values.update(missing)
        write_private(path, json.dumps(values, indent=2))
    return values


def ensure_user_passwords(path: Path, names: list[str]) -> dict[str, str]:
    """Passwords of the Airflow users ``names`` (admin's is ``admin_password``), created once."""
    values = load_or_create(path)
    missing = [n for n in names if n != ADMIN_USER and f"user_password:{n}" not in values]
    if missing:
        values.update({f"user_password:{n}": secrets.token_urlsafe(18) for n in missing})
        write_private(path, json.dumps(values, indent=2))
    return {
        n: values["admin_password"] if n == ADMIN_USER else values[f"user_password:{n}"]
        for n in names
    }
