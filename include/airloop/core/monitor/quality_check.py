"""Quality as a retrain trigger: the champion's live error on labelled rows against its holdout.

Pure (numpy). The champion was judged once on its frozen holdout; once labels for recent
predictions arrive, the same metric on them says whether it still performs as promised. A
seeded bootstrap over the labelled rows gives a one-sided interval; the champion has *degraded*
when even the favourable end of the interval is worse than the holdout by more than
``tolerance`` (relative). Rows are resampled independently, so hour-to-hour correlation makes
the interval somewhat narrow; the tolerance and the policy's persistence absorb that.

No labels, or fewer than ``min_rows``: nothing is judged (``degraded`` is None), so quality
never triggers without labels. There is no label-free estimate here: the ones that exist
(confidence-based estimation) assume calibrated probabilities and no concept drift, which is
exactly what a trigger must not assume.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from airloop.core.model import metrics

LOWER_IS_BETTER = metrics.LOWER_IS_BETTER


@dataclass(frozen=True)
class QualityCheck:
    metric: str
    rows: int
    live: float | None
    interval: tuple[float, float] | None  # the two-sided interval at ``confidence``
    holdout: float | None
    limit: float | None  # the value the favourable end must pass to count as degraded
    degraded: bool | None
    reason: str

    def to_record(self) -> dict[str, Any]:
        found = asdict(self)
        found["interval"] = list(self.interval) if self.interval else None
        return found


def check(
    metric: str,
    y: np.ndarray,
    predicted: np.ndarray,
    holdout: float | None,
    *,
    tolerance: float,
    confidence: float,
    min_rows: int,
    resamples: int = 500,
    seed: int = 0,
) -> QualityCheck:
    """Whether the live ``metric`` on (``y``, ``predicted``) is worse than ``holdout``."""
    y, predicted = np.asarray(y, dtype=float), np.asarray(predicted, dtype=float)
    keep = ~(np.isnan(y) | np.isnan(predicted))
    y, predicted = y[keep], predicted[keep]
    if holdout is None or not np.isfinite(holdout):
        return QualityCheck(metric, len(y), None, None, holdout, None, None,
                            f"the champion has no holdout {metric}")  # fmt: skip
    if len(y) < min_rows:
        return QualityCheck(metric, len(y), None, None, holdout, None, None,
                            f"{len(y)} labelled rows (quality needs {min_rows})")  # fmt: skip
    live = float(metrics.score(metric, y, predicted))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y), size=(resamples, len(y)))
    values = [metrics.score(metric, y[i], predicted[i]) for i in draws]
    values = np.array([v for v in values if np.isfinite(v)])
    tail = (1 - confidence) / 2
    low, high = (float(np.quantile(values, q)) for q in (tail, 1 - tail))
    lower_better = metric in LOWER_IS_BETTER
    limit = holdout * (1 + tolerance) if lower_better else holdout * (1 - tolerance)
    degraded = low > limit if lower_better else high < limit
    word = "above" if lower_better else "below"
    reason = (f"live {metric} {live:.4g} (CI {low:.4g}..{high:.4g}) vs holdout {holdout:.4g}: "
              f"{'degraded' if degraded else 'not degraded'} (limit {limit:.4g}, the whole "
              f"interval must be {word} it)")  # fmt: skip
    return QualityCheck(metric, len(y), live, (low, high), holdout, limit, degraded, reason)
