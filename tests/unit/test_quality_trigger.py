"""Quality as a trigger: the champion's live error against its holdout, combined with drift."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from airloop.core.monitor import quality_check
from airloop.core.monitor.drift_policy import Observation, decide
from airloop.spec import DriftPolicySpec

D0 = date(2012, 6, 1)


def _check(noise: float, rows: int = 200, holdout: float = 1.0) -> quality_check.QualityCheck:
    rng = np.random.default_rng(0)
    y = rng.normal(0, 3, rows)
    return quality_check.check("rmse", y, y + rng.normal(0, noise, rows), holdout,
                               tolerance=0.1, confidence=0.95, min_rows=30)  # fmt: skip


def test_degraded_error_fires_and_a_held_error_does_not() -> None:
    worse, same = _check(noise=1.5), _check(noise=1.0)
    assert worse.degraded is True and worse.interval[0] > worse.limit
    assert same.degraded is False
    assert "degraded" in worse.reason and "CI" in worse.reason


def test_quality_is_not_judged_without_labels_or_holdout() -> None:
    none = quality_check.check("rmse", np.array([]), np.array([]), 1.0, tolerance=0.1,
                               confidence=0.95, min_rows=30)  # fmt: skip
    assert none.degraded is None and "0 labelled rows" in none.reason
    assert _check(noise=5.0, rows=20).degraded is None  # too few
    assert _check(noise=5.0, holdout=float("nan")).degraded is None


def test_a_score_metric_degrades_downwards() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    noisy = np.clip(y * 0.6 + rng.uniform(0, 0.4, 400) * (rng.random(400) < 0.5), 0, 1)
    coin = rng.random(400)
    good = quality_check.check("roc_auc", y, noisy, 0.9, tolerance=0.1, confidence=0.95,
                               min_rows=30)  # fmt: skip
    bad = quality_check.check("roc_auc", y, coin, 0.9, tolerance=0.1, confidence=0.95,
                              min_rows=30)  # fmt: skip
    assert good.degraded is False and bad.degraded is True


def _run(trigger: str, shares: list[float], degraded: list[bool | None]) -> list[str]:
    policy = DriftPolicySpec(trigger=trigger, drift_share=0.5, persistence_k=3, persistence_n=4,
                             cooldown_days=0, max_retrains=5)  # fmt: skip
    history, actions = [], []
    for i, (share, bad) in enumerate(zip(shares, degraded, strict=True)):
        day = D0 + timedelta(days=i)
        history.append(Observation(day, share, 1, bad))
        actions.append(decide(policy, day, history, 1, 100, [], None, 42).action)
    return actions


@pytest.mark.parametrize(
    ("trigger", "shares", "degraded", "fires"),
    [
        ("quality", [0.0] * 5, [True] * 5, True),
        ("quality", [1.0] * 5, [None] * 5, False),  # drift without labels: quality never fires
        ("quality", [0.0] * 5, [None] * 5, False),
        ("drift", [0.0] * 5, [True] * 5, False),
        ("either", [0.0] * 5, [True] * 5, True),
        ("either", [1.0] * 5, [None] * 5, True),
        ("both", [1.0] * 5, [None] * 5, False),
        ("both", [1.0] * 5, [False] * 5, False),
        ("both", [1.0] * 5, [True] * 5, True),
    ],
)
def test_the_trigger_combines_drift_and_quality_as_the_spec_says(
    trigger: str, shares: list[float], degraded: list[bool | None], fires: bool
) -> None:
    actions = _run(trigger, shares, degraded)
    assert ("retrain" in actions) is fires, actions
