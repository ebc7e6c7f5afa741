"""The drift policy: daily drift observations in, at most one retrain request per episode out.

Pure (no I/O, no clock): the monitor task gathers the history and applies the decision. The
rules, in order, each with the reason a person reads in the report and the ledger:

1. No champion yet: request the first training once ``initial_min_days`` validated days exist
   (keyed by how many such periods have passed, so a failed first training retries later).
2. A day *drifts* when its drift share reaches ``drift_share``; drift is *confirmed* when at least
   ``persistence_k`` of the last ``persistence_n`` days (under the same champion) drifted.
   Unmonitored days count as not drifted, so a gap never confirms drift.
3. An *episode* is a run of consecutive confirmed days under one champion. Its data windows
   are ``retry_days`` long; the dedupe key is ``drift|v<champion>|<episode start>|<window #>``.
   One request per key, ever: a rejected challenger never re-triggers on the same window (the
   loop Metaflow and Airflow warn about), but a drift that persists may ask again once a new
   window of drifted data has arrived (a first retrain often has too little of it).
4. No drift request within ``cooldown_days`` after a promotion, nor beyond the budget of
   ``max_retrains`` per ``budget_days`` (requests of either kind count).
5. Observe mode records the request it would have made (so dedupe and budget behave the same)
   but triggers nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Literal

from airloop.spec import DriftPolicySpec

Action = Literal["none", "retrain", "observe"]


@dataclass(frozen=True)
class Observation:
    """One monitored day: its drift share against the champion of that day."""

    day: date
    drift_share: float | None  # None: no champion to compare against
    champion: int | None
    quality_degraded: bool | None = None  # None: not judged (no labels yet)


@dataclass(frozen=True)
class PriorRequest:
    key: str
    day: date


@dataclass(frozen=True)
class PolicyDecision:
    action: Action
    reason: str
    drifted: bool
    confirmed: bool
    drifted_days: int  # of the last persistence_n days
    key: str | None = None  # dedupe key of the request this decision makes (or would make)
    window: tuple[date, date] | None = None  # training window the request asks for
    kind: Literal["initial", "drift"] | None = None

    def record(self) -> dict[str, Any]:
        found = asdict(self)
        found["window"] = [d.isoformat() for d in self.window] if self.window else None
        return found


def _drifted(obs: Observation | None, policy: DriftPolicySpec, champion: int | None) -> bool:
    """Whether the day counts toward a retrain, by ``policy.trigger``: data drift, degraded
    quality (never when unjudged: no labels), either, or both."""
    if obs is None or obs.champion != champion:
        return False
    data = obs.drift_share is not None and obs.drift_share >= policy.drift_share
    quality = obs.quality_degraded is True
    return {"drift": data, "quality": quality, "either": data or quality,
            "both": data and quality}[policy.trigger]  # fmt: skip


def _confirmed_on(
    day: date, by_day: dict[date, Observation], policy: DriftPolicySpec, champion: int | None
) -> tuple[bool, int]:
    last_n = [day - timedelta(days=i) for i in range(policy.persistence_n)]
    count = sum(_drifted(by_day.get(d), policy, champion) for d in last_n)
    return count >= policy.persistence_k, count


def _episode_start(
    day: date, by_day: dict[date, Observation], policy: DriftPolicySpec, champion: int | None
) -> date:
    start = day
    while _confirmed_on(start - timedelta(days=1), by_day, policy, champion)[0]:
        start -= timedelta(days=1)
    return start


def decide(
    policy: DriftPolicySpec,
    day: date,
    history: list[Observation],
    champion: int | None,
    validated_days: int,
    requests: list[PriorRequest],
    last_promotion: date | None,
    window_days: int,
) -> PolicyDecision:
    """What monitoring does on ``day`` given everything before it (and today's observation)."""
    by_day = {o.day: o for o in history if o.day <= day}
    window = (day - timedelta(days=(policy.retrain_window_days or window_days) - 1), day)
    spent = [r for r in requests if day - timedelta(days=policy.budget_days) < r.day <= day]
    asked = {r.key: r for r in requests}

    if champion is None:
        if validated_days < policy.initial_min_days:
            why = f"no champion yet; {validated_days} of {policy.initial_min_days} days validated"
            return PolicyDecision("none", why, False, False, 0)
        key = f"initial|{validated_days // policy.initial_min_days}"
        base = PolicyDecision("none", "", False, False, 0, key, window, "initial")
        reason = f"no champion yet and {validated_days} validated days: train the first model"
        return _gate(policy, base, reason, asked, spent)

    drifted = _drifted(by_day.get(day), policy, champion)
    confirmed, count = _confirmed_on(day, by_day, policy, champion)
    share = by_day[day].drift_share if day in by_day else None
    seen = f"drift share {share:.2f}" if share is not None else "not monitored"
    degraded = by_day[day].quality_degraded if day in by_day else None
    if policy.trigger != "drift":
        seen += {True: ", quality degraded", False: ", quality held", None: ", quality not judged"
                 }[degraded]  # fmt: skip
    tally = f"{count} of the last {policy.persistence_n} days drifted"
    if not confirmed:
        need = (f"(confirmation needs {policy.persistence_k}, threshold {policy.drift_share}, "
                f"trigger {policy.trigger})")  # fmt: skip
        return PolicyDecision("none", f"{seen}; {tally} {need}", drifted, False, count)
    start = _episode_start(day, by_day, policy, champion)
    key = f"drift|v{champion}|{start.isoformat()}|{(day - start).days // policy.retry_days}"
    base = PolicyDecision("none", "", drifted, True, count, key, window, "drift")
    if last_promotion is not None and (day - last_promotion).days < policy.cooldown_days:
        until = last_promotion + timedelta(days=policy.cooldown_days)
        return _with(base, "none", f"drift confirmed ({tally}) but in cooldown until {until}")
    reason = f"drift confirmed since {start}: {tally}; {seen} vs champion v{champion}"
    return _gate(policy, base, reason, asked, spent)


def _gate(
    policy: DriftPolicySpec,
    base: PolicyDecision,
    reason: str,
    asked: dict[str, PriorRequest],
    spent: list[PriorRequest],
) -> PolicyDecision:
    """Dedupe, budget and mode, the same for first and drift requests."""
    if base.key in asked:
        return _with(base, "none", f"{reason}; already requested on {asked[base.key].day}")
    if len(spent) >= policy.max_retrains:
        budget = f"{policy.max_retrains} per {policy.budget_days} days"
        return _with(base, "none", f"{reason}; retrain budget spent ({budget})")
    if policy.mode == "observe":
        return _with(base, "observe", f"{reason}; observe mode: not triggered")
    return _with(base, "retrain", reason)


def _with(base: PolicyDecision, action: Action, reason: str) -> PolicyDecision:
    from dataclasses import replace

    return replace(base, action=action, reason=reason)
