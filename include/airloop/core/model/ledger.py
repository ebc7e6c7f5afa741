"""The promotion ledger: every decision, durable, in the lake (and summarised on versions).

MLflow keeps no alias history (mlflow/mlflow#2169). Each entry is one object named by a
deterministic key, so a retried task rewrites its own entry instead of adding a second one.
Entries are never deleted.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from airloop.core.data.storage import atomic_write_bytes

ACTIONS = ("promote", "reject", "inconclusive", "rollback")
TRIGGERS = ("initial", "schedule", "drift", "manual")
FIELDS = ("at", "action", "from_version", "to_version", "trigger", "reason")


def entry_key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def _folder(lake: Any) -> Any:
    return lake.base / "ledger"


def record(
    lake: Any,
    key: str,
    *,
    at: datetime,
    action: str,
    from_version: int | None,
    to_version: int | None,
    trigger: str,
    reason: str,
    decision: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write (or rewrite, for the same ``key``) one ledger entry."""
    if action not in ACTIONS:
        raise ValueError(f"unknown ledger action {action!r}")
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    entry = {
        "key": key,
        "at": at.isoformat(),
        "action": action,
        "from_version": from_version,
        "to_version": to_version,
        "trigger": trigger,
        "reason": reason,
        "decision": decision,
        **extra,
    }
    atomic_write_bytes(_folder(lake) / f"{key}.json", json.dumps(entry, default=str).encode())
    return entry


def has_entry(lake: Any, key: str) -> bool:
    return (_folder(lake) / f"{key}.json").exists()


def entry(lake: Any, key: str) -> dict[str, Any] | None:
    """The entry written under ``key``, or None."""
    path = _folder(lake) / f"{key}.json"
    return json.loads(path.read_bytes()) if path.exists() else None


def entries(lake: Any) -> list[dict[str, Any]]:
    """All entries, oldest first."""
    folder = _folder(lake)
    if not folder.exists():
        return []
    found = [json.loads(p.read_bytes()) for p in folder.iterdir() if p.name.endswith(".json")]
    return sorted(found, key=lambda e: (e["at"], e["key"]))
