"""The champion/challenger decision: unit and property tests (no Airflow, no MLflow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from airloop.core.model.decision import INCONCLUSIVE, PROMOTE, REJECT, decide, paired_bootstrap
from airloop.spec import PromotionSpec

POLICY = PromotionSpec(
    metric="rmse",
    floor=100.0,
    min_improvement=0.02,
    tolerance=0.0,
    bootstrap_resamples=300,
    slices=["group"],
    min_slice_rows=20,
)


def _data(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 30, n)
    groups = pd.DataFrame({"group": rng.integers(0, 2, n)})
    return rng, y, groups


def test_first_model_is_promoted_when_it_clears_the_floor() -> None:
    rng, y, g = _data()
    d = decide(POLICY, y, y + rng.normal(0, 20, len(y)), None, g)
    assert d.outcome == PROMOTE and "first model" in d.reason


def test_first_model_below_the_floor_is_rejected() -> None:
    rng, y, g = _data()
    d = decide(POLICY, y, y + rng.normal(0, 200, len(y)), None, g)
    assert d.outcome == REJECT and "floor" in d.reason


def test_a_clearly_better_challenger_is_promoted_with_a_ci() -> None:
    rng, y, g = _data()
    champion = y + rng.normal(0, 40, len(y))
    challenger = y + rng.normal(0, 20, len(y))
    d = decide(POLICY, y, challenger, champion, g)
    assert d.outcome == PROMOTE, d.reason
    assert 0 < d.ci_low <= d.relative_improvement <= d.ci_high


def test_an_equal_challenger_is_inconclusive() -> None:
    rng, y, g = _data()
    preds = y + rng.normal(0, 20, len(y))
    d = decide(POLICY, y, preds, preds.copy(), g)
    assert d.outcome == INCONCLUSIVE and d.relative_improvement == 0


def test_a_clearly_worse_challenger_is_rejected() -> None:
    rng, y, _ = _data()
    d = decide(POLICY, y, y + rng.normal(0, 45, len(y)), y + rng.normal(0, 20, len(y)))
    assert d.outcome == REJECT and "significantly worse" in d.reason
    assert d.ci_high < 0


def test_a_slice_regression_blocks_an_overall_improvement() -> None:
    rng, y, g = _data()
    champion = y + rng.normal(0, 30, len(y))
    challenger = np.where(g["group"] == 0, y, y + rng.normal(0, 45, len(y)))
    d = decide(POLICY, y, challenger, champion, g)
    assert d.outcome == REJECT and "group=1" in d.reason


def test_force_waives_evidence_but_not_the_floor() -> None:
    rng, y, g = _data()
    preds = y + rng.normal(0, 20, len(y))
    assert decide(POLICY, y, preds, preds, g, force=True).outcome == PROMOTE
    awful = y + rng.normal(0, 300, len(y))
    assert decide(POLICY, y, awful, preds, g, force=True).outcome == REJECT


def test_bootstrap_is_seeded_and_paired() -> None:
    rng, y, _ = _data()
    a, b = y + rng.normal(0, 30, len(y)), y + rng.normal(0, 25, len(y))
    first = paired_bootstrap("rmse", y, a, b, 500, 0.95, seed=1)
    assert first == paired_bootstrap("rmse", y, a, b, 500, 0.95, seed=1)
    assert paired_bootstrap("rmse", y, a, a, 500, 0.95, seed=1) == (0.0, 0.0)


def test_classification_metrics_work_through_the_generic_bootstrap() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    good = np.clip(y * 0.7 + rng.uniform(0, 0.3, 300), 0, 1)
    policy = PromotionSpec(metric="roc_auc", floor=0.6, bootstrap_resamples=200)
    d = decide(policy, y, good, rng.uniform(0, 1, 300))
    assert d.outcome == PROMOTE and d.ci_low > 0


@st.composite
def scenario(draw):
    n = draw(st.integers(60, 300))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 30, n)
    champ_noise = draw(st.floats(1, 120))
    chall_noise = draw(st.floats(1, 120))
    shift = draw(st.floats(-30, 30))
    groups = pd.DataFrame({"group": rng.integers(0, 3, n)})
    champion = y + rng.normal(0, champ_noise, n)
    challenger = y + rng.normal(shift, chall_noise, n)
    policy = PromotionSpec(
        metric="rmse",
        floor=draw(st.floats(5, 150)),
        bootstrap_resamples=200,
        min_improvement=draw(st.floats(0, 0.2)),
        tolerance=draw(st.floats(0, 0.1)),
        slices=["group"],
        slice_tolerance=draw(st.floats(0, 0.3)),
        min_slice_rows=10,
    )
    return policy, y, champion, challenger, groups, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(scenario())
def test_never_promotes_below_floor_beyond_tolerance_or_with_a_slice_regression(s) -> None:
    policy, y, champion, challenger, groups, force = s
    d = decide(policy, y, challenger, champion, groups, force=force)
    if d.outcome != PROMOTE:
        return
    rmse = float(np.sqrt(np.mean((y - challenger) ** 2)))
    assert rmse <= policy.floor
    assert not any(s["regressed"] for s in d.slices)
    if not force:
        assert d.ci_low >= -policy.tolerance
        assert d.relative_improvement >= policy.min_improvement


@settings(max_examples=60, deadline=None)
@given(scenario())
def test_the_first_model_is_promoted_exactly_when_it_clears_the_floor(s) -> None:
    policy, y, _, challenger, groups, _ = s
    d = decide(policy, y, challenger, None, groups)
    rmse = float(np.sqrt(np.mean((y - challenger) ** 2)))
    assert (d.outcome == PROMOTE) == (rmse <= policy.floor)
