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


def load_or_create(path: Path) -> dict[str, str]:
    """Return the installation's secrets, creating them once."""
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "admin_password": secrets.token_urlsafe(18),
        # A Fernet key is 32 random bytes, urlsafe-base64 encoded.
        "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "jwt_secret": secrets.token_urlsafe(48),
        "api_secret_key": secrets.token_urlsafe(32),
    }
    write_private(path, json.dumps(values, indent=2))
    return values
