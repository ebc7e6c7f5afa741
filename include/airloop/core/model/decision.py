"""The champion/challenger decision: a pure function of predictions on one frozen holdout.

Every anchor compares point estimates. Here both models are scored on the same holdout rows and
the metric delta gets a paired bootstrap confidence interval (seeded). Outcomes:

* **reject** — below the absolute floor, a slice regresses beyond its tolerance, or the challenger
  is significantly worse (the whole CI of the improvement is below zero);
* **promote** — no champion yet and the floor is cleared; or the relative improvement is at least
  ``min_improvement`` *and* the CI's lower bound admits no regression beyond ``tolerance``;
* **inconclusive** — anything else: the champion stays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from airloop.core.model import metrics
from airloop.spec import PromotionSpec

PROMOTE, REJECT, INCONCLUSIVE = "promote", "reject", "inconclusive"


@dataclass
class Decision:
    outcome: str
    reason: str
    metric: str
    challenger_metric: float
    champion_metric: float | None = None
    relative_improvement: float | None = None
    ci_low: float | None = None  # relative improvement, lower bound
    ci_high: float | None = None
    holdout_rows: int = 0
    slices: list[dict[str, Any]] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return asdict(self)


def resampled(name: str, y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``name`` on each resample of rows ``idx`` (``(resamples, n)``); ``p`` a vector or an
    ``(n, k)`` multi-class probability matrix (its rows are resampled whole)."""
    rows = metrics.row_values(name, y, p)
    if rows is not None:  # vectorised: the metric is a mean of per-row values
        means = rows[idx].mean(axis=1)
        return np.sqrt(means) if name == "rmse" else means
    if name == "macro_f1":
        k = p.shape[1] if p.ndim == 2 else 2
        return metrics.macro_f1_resampled(y.astype(int)[idx], metrics.labels(p)[idx], k)
    return np.array([metrics.score(name, y[i], p[i]) for i in idx])


def paired_bootstrap(
    name: str,
    y: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float]:
    """CI of the improvement (metric units) from resampling the same rows for both models."""
    rng = np.random.default_rng(seed)
    n = len(y)
    idx = rng.integers(0, n, size=(resamples, n))
    deltas = metrics.improvement(
        name, resampled(name, y, champion, idx), resampled(name, y, challenger, idx)
    )
    alpha = (1 - confidence) / 2
    return float(np.quantile(deltas, alpha)), float(np.quantile(deltas, 1 - alpha))


def _slice_regressions(
    policy: PromotionSpec,
    y: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    slices: pd.DataFrame,
) -> list[dict[str, Any]]:
    out = []
    for column in policy.slices:
        for value in sorted(pd.unique(slices[column])):
            mask = (slices[column] == value).to_numpy()
            if mask.sum() < policy.min_slice_rows:
                continue
            champ = metrics.score(policy.metric, y[mask], champion[mask])
            chall = metrics.score(policy.metric, y[mask], challenger[mask])
            rel = metrics.improvement(policy.metric, champ, chall) / max(abs(champ), 1e-12)
            out.append({"slice": f"{column}={value}", "rows": int(mask.sum()),
                        "champion": champ, "challenger": chall, "relative_improvement": rel,
                        "regressed": rel < -policy.slice_tolerance})  # fmt: skip
    return out


def decide(
    policy: PromotionSpec,
    y_true: Any,
    challenger_pred: Any,
    champion_pred: Any | None = None,
    slices: pd.DataFrame | None = None,
    force: bool = False,
) -> Decision:
    """Decide on a challenger; ``force`` waives the statistical gate but never the floor."""
    y = np.asarray(y_true, dtype=float)
    chall = np.asarray(challenger_pred, dtype=float)
    name = policy.metric
    value = metrics.score(name, y, chall)
    base = {"metric": name, "challenger_metric": value, "holdout_rows": len(y),
            "policy": policy.model_dump()}  # fmt: skip
    if not metrics.clears_floor(name, value, policy.floor):
        return Decision(REJECT, f"{name} {value:.4g} does not clear the floor {policy.floor:g}",
                        **base)  # fmt: skip
    if champion_pred is None:
        return Decision(PROMOTE, f"first model: {name} {value:.4g} clears the floor "
                                 f"{policy.floor:g}", **base)  # fmt: skip
    champ = np.asarray(champion_pred, dtype=float)
    champ_value = metrics.score(name, y, champ)
    scale = max(abs(champ_value), 1e-12)
    rel = metrics.improvement(name, champ_value, value) / scale
    low, high = paired_bootstrap(name, y, champ, chall, policy.bootstrap_resamples,
                                 policy.confidence, policy.seed)  # fmt: skip
    sliced = _slice_regressions(policy, y, champ, chall, slices) if slices is not None else []
    found = Decision(INCONCLUSIVE, "", champion_metric=champ_value, relative_improvement=rel,
                     ci_low=low / scale, ci_high=high / scale, slices=sliced, **base)  # fmt: skip
    ci = f"{policy.confidence:.0%} CI [{low / scale:+.2%}, {high / scale:+.2%}]"
    regressed = [s["slice"] for s in sliced if s["regressed"]]
    if regressed:
        found.outcome, found.reason = (
            REJECT,
            (f"slice regression beyond {policy.slice_tolerance:.0%} on {', '.join(regressed)}"),
        )
    elif high < 0:
        found.outcome = REJECT
        found.reason = f"significantly worse: {name} {value:.4g} vs {champ_value:.4g}, {ci}"
    elif force:
        found.outcome, found.reason = PROMOTE, f"forced by operator ({rel:+.2%}, {ci})"
    elif rel >= policy.min_improvement and low / scale >= -policy.tolerance:
        found.outcome = PROMOTE
        found.reason = f"{name} {value:.4g} vs {champ_value:.4g} ({rel:+.2%}), {ci}"
    else:
        found.reason = (f"not enough evidence: {rel:+.2%} (needs {policy.min_improvement:.0%}), "
                        f"{ci}, tolerance {policy.tolerance:.0%}")  # fmt: skip
    return found
