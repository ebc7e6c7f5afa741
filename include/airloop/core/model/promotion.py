"""Promotion and rollback as idempotent transactions over MLflow aliases, always ledgered.

MLflow aliases have no compare-and-set and no multi-alias transaction (mlflow/mlflow#2169 has no
history either), so each change of ``@champion`` is a small write-ahead transaction in the lake:

1. the *intent* (from, to, why) is written to ``ledger/pending/<key>.json`` before any alias;
2. ``@previous_champion`` and ``@champion`` are set, then the version tags;
3. the ledger entry ``<key>`` is written — it is what marks the transaction complete;
4. the intent is removed.

A retry with the same key, or any later promotion or rollback of the pipeline, first finishes
every pending intent (:func:`repair`), so a crash at any step converges to exactly the intended
champion with exactly one ledger entry, and a completed transaction is never applied twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from airloop.core.data.storage import create_exclusive
from airloop.core.failpoints import failpoint
from airloop.core.model import ledger, registry


class PromotionError(ValueError):
    """A rollback or promotion that cannot happen; the message says why."""


@dataclass(frozen=True)
class Transition:
    """One intended change of ``@champion``: written before the first alias write."""

    key: str
    action: str  # "promote" or "rollback"
    from_version: int | None
    to_version: int
    trigger: str
    reason: str
    at: str
    decision: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _pending_folder(lake: Any) -> Any:
    return lake.base / "ledger" / "pending"


def _write_intent(lake: Any, intent: Transition) -> Transition:
    """Record the intent exclusively; a retry with the same key gets the first try's intent."""
    path = _pending_folder(lake) / f"{intent.key}.json"
    if create_exclusive(path, json.dumps(asdict(intent), default=str).encode()):
        return intent
    return Transition(**json.loads(path.read_bytes()))


def pending(lake: Any) -> list[Transition]:
    """Intents not yet completed (a crash left them), oldest first."""
    folder = _pending_folder(lake)
    if not folder.exists():
        return []
    found = [Transition(**json.loads(p.read_bytes())) for p in folder.glob("*.json")]
    return sorted(found, key=lambda t: (t.at, t.key))


def _apply(lake: Any, name: str, intent: Transition) -> dict[str, Any]:
    """Drive ``intent`` to completion; every step is safe to repeat."""
    done = ledger.entry(lake, intent.key)
    if done is None:
        current = registry.alias_version(name, registry.CHAMPION)
        if current not in (intent.from_version, intent.to_version):
            # Someone moved @champion outside Airloop between the intent and now: keep theirs.
            why = (
                f"{intent.action} of v{intent.to_version} not applied: champion became "
                f"v{current} outside this transaction"
            )
            done = _record(lake, intent, "inconclusive", current, why)
        else:
            if intent.from_version is not None:
                registry.set_alias(name, registry.PREVIOUS, intent.from_version)
            failpoint(f"{intent.action}.between_aliases")
            registry.set_alias(name, registry.CHAMPION, intent.to_version)
            # The model server follows @champion within seconds; tags and ledger do not know yet.
            failpoint(f"{intent.action}.after_alias")
            _tag(name, intent)
            failpoint(f"{intent.action}.after_tags")
            done = _record(lake, intent, intent.action, intent.from_version, intent.reason)
    failpoint(f"{intent.action}.after_ledger")
    path = _pending_folder(lake) / f"{intent.key}.json"
    if path.exists():
        path.unlink()
    return done


def _record(
    lake: Any, intent: Transition, action: str, from_version: int | None, reason: str
) -> dict[str, Any]:
    return ledger.record(
        lake, intent.key, at=datetime.fromisoformat(intent.at), action=action,
        from_version=from_version, to_version=intent.to_version, trigger=intent.trigger,
        reason=reason, decision=intent.decision, **intent.extra,
    )  # fmt: skip


def _tag(name: str, intent: Transition) -> None:
    """Record the flip on both versions (idempotent: a retry rewrites the same tags)."""
    if intent.action == "rollback":
        registry.tag_version(name, intent.to_version, {"airloop.rolled_back_to_at": intent.at})
        return
    registry.tag_version(
        name,
        intent.to_version,
        {
            "airloop.promoted_at": intent.at,
            "airloop.promoted_from": str(intent.from_version),
            "airloop.promotion_trigger": intent.trigger,
        },
    )
    if intent.from_version is not None:
        registry.tag_version(name, intent.from_version, {"airloop.demoted_at": intent.at})


def repair(lake: Any, name: str) -> list[dict[str, Any]]:
    """Finish every transaction a crash left pending; returns their ledger entries."""
    return [_apply(lake, name, intent) for intent in pending(lake)]


def _result(entry: dict[str, Any]) -> dict[str, Any]:
    promoted = entry["action"] == "promote"
    out = {"promoted": promoted, "champion": entry["to_version"] if promoted else None,
           "previous": entry["from_version"]}  # fmt: skip
    if not promoted:
        out.update(champion=entry["from_version"], reason=entry["reason"])
    return out


def promote(
    lake: Any,
    name: str,
    candidate: int,
    expected_champion: int | None,
    *,
    decision: dict[str, Any],
    trigger: str,
    reason: str,
    at: datetime,
    key: str,
    data_date: str | None = None,
    request_keys: list[str] | None = None,
) -> dict[str, Any]:
    """Make ``candidate`` champion if ``@champion`` is still what the decision was made against.

    Callers serialise this per pipeline (an Airflow pool of one slot); the re-check catches a
    promotion that happened in between anyway. Retried with the same ``key`` it returns the
    first outcome and never touches the aliases again, even after a later rollback.
    """
    intents = {t.key: t for t in pending(lake)}
    done = _apply(lake, name, intents[key]) if key in intents else ledger.entry(lake, key)
    if done is None:
        repair(lake, name)  # an earlier transaction's crash comes first
        current = registry.alias_version(name, registry.CHAMPION)
        extra = {"data_date": data_date, "request_keys": request_keys or []}
        if current != expected_champion:
            why = (
                f"champion changed from {expected_champion} to {current} since evaluation; "
                f"kept {current}, challenger {candidate} not promoted"
            )
            done = ledger.record(lake, key, at=at, action="inconclusive", from_version=current,
                                 to_version=candidate, trigger=trigger, reason=why,
                                 decision=decision, **extra)  # fmt: skip
        else:
            intent = Transition(
                key, "promote", expected_champion, candidate, trigger, reason, at.isoformat(),
                decision, extra,
            )  # fmt: skip
            done = _apply(lake, name, _write_intent(lake, intent))
    return _result(done)


def rollback(
    lake: Any,
    name: str,
    reason: str,
    at: datetime,
    key: str,
    to_version: int | None = None,
) -> dict[str, Any]:
    """Champion ← ``to_version`` (default: the previous champion); ledgered as ``rollback``.

    Safe to retry with the same ``key``. A new call (``airloop rollback`` run again) after a
    crashed rollback finishes that one and returns it, rather than rolling back a second time
    to the version the first one demoted.
    """
    if not reason.strip():
        raise PromotionError("a rollback needs a reason")
    intents = {t.key: t for t in pending(lake)}
    done = _apply(lake, name, intents[key]) if key in intents else ledger.entry(lake, key)
    if done is None:
        repaired = [e for e in repair(lake, name) if e["action"] == "rollback"]
        same = [e for e in repaired if to_version in (None, e["to_version"])]
        done = same[-1] if same else _start_rollback(lake, name, reason, at, key, to_version)
    return {"champion": done["to_version"], "previous": done["from_version"], "entry": done}


def _start_rollback(
    lake: Any, name: str, reason: str, at: datetime, key: str, to_version: int | None
) -> dict[str, Any]:
    current = registry.alias_version(name, registry.CHAMPION)
    target = (
        to_version if to_version is not None else registry.alias_version(name, registry.PREVIOUS)
    )
    if target is None:
        raise PromotionError(f"{name} has no previous champion to roll back to; use --to VERSION")
    if registry.version_info(name, target) is None:
        known = registry.count_versions(name)
        raise PromotionError(
            f"{name} has no version {target} (registered versions: 1..{known})"
            if known
            else f"{name} has no registered versions"
        )
    if target == current:
        raise PromotionError(f"version {target} of {name} is already the champion")
    intent = Transition(key, "rollback", current, target, "manual", reason, at.isoformat())
    return _apply(lake, name, _write_intent(lake, intent))
