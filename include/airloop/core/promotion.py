"""Promotion and rollback: alias flips with a compare-and-set re-check, always ledgered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airloop.core import ledger, registry
from airloop.core.failpoints import failpoint


class PromotionError(ValueError):
    """A rollback or promotion that cannot happen; the message says why."""


def promote(
    lake: Any,
    name: str,
    candidate: int,
    expected_champion: int | None,
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
    promotion that happened in between anyway, because MLflow aliases have no compare-and-set.
    """

    def finish_flip(previous: int | None) -> None:
        """Tag both versions, then ledger the promotion: written last, the ledger entry is what
        marks the flip complete."""
        _tag_flip(name, candidate, previous, trigger, at)
        ledger.record(
            lake, key, at, "promote", previous, candidate, trigger, reason, decision,
            data_date=data_date, request_keys=request_keys or [],
        )  # fmt: skip

    current = registry.alias_version(name, registry.CHAMPION)
    if current == candidate:  # a retry after the flip: finish what the crashed try left undone
        if not ledger.has_entry(lake, key):  # no ledger entry: the tags may be missing too
            finish_flip(registry.alias_version(name, registry.PREVIOUS))
        return {"promoted": True, "champion": candidate, "previous": expected_champion}
    if current != expected_champion:
        why = (
            f"champion changed from {expected_champion} to {current} since evaluation; "
            f"kept {current}, challenger {candidate} not promoted"
        )
        ledger.record(
            lake, key, at, "inconclusive", current, candidate, trigger, why, decision,
            data_date=data_date, request_keys=request_keys or [],
        )  # fmt: skip
        return {"promoted": False, "champion": current, "reason": why}
    if current is not None:
        registry.set_alias(name, registry.PREVIOUS, current)
    registry.set_alias(name, registry.CHAMPION, candidate)
    # The non-atomic boundary: MLflow serves the new champion (the model server flips within
    # seconds) but neither the version tags nor the ledger know yet. A crash here is the one a
    # retry must repair (the branch above), or the alias history would silently lose a flip.
    failpoint("promote.after_alias")
    finish_flip(current)
    return {"promoted": True, "champion": candidate, "previous": current}


def _tag_flip(name: str, candidate: int, previous: int | None, trigger: str, at: datetime) -> None:
    """Record the flip on both versions (idempotent: a retry rewrites the same tags)."""
    registry.tag_version(
        name,
        candidate,
        {
            "airloop.promoted_at": at.isoformat(),
            "airloop.promoted_from": str(previous),
            "airloop.promotion_trigger": trigger,
        },
    )
    if previous is not None:
        registry.tag_version(name, previous, {"airloop.demoted_at": at.isoformat()})


def rollback(
    lake: Any,
    name: str,
    reason: str,
    at: datetime,
    key: str,
    to_version: int | None = None,
) -> dict[str, Any]:
    """Champion ← ``to_version`` (default: the previous champion); ledgered as ``rollback``."""
    if not reason.strip():
        raise PromotionError("a rollback needs a reason")
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
    registry.set_alias(name, registry.CHAMPION, target)
    if current is not None:
        registry.set_alias(name, registry.PREVIOUS, current)
    registry.tag_version(name, target, {"airloop.rolled_back_to_at": at.isoformat()})
    entry = ledger.record(lake, key, at, "rollback", current, target, "manual", reason)
    return {"champion": target, "previous": current, "entry": entry}
