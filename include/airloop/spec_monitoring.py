"""The ``monitoring`` section of a pipeline spec: what drift compares, its thresholds, the policy.

Cheap to import (pydantic only), like :mod:`airloop.spec`, which re-exports these models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Drift statistics airloop.core.monitor.calibration can calibrate (it computes them itself).
CALIBRATED_METHODS = ("wasserstein", "jensenshannon")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DriftPolicySpec(_Strict):
    """When confirmed drift becomes a retrain request (``airloop.core.monitor.drift_policy``)."""

    mode: Literal["act", "observe"] = "act"  # observe: record what would trigger, trigger nothing
    drift_share: float = Field(0.5, gt=0, le=1)  # a day drifts when this share of columns drift
    persistence_k: int = Field(3, ge=1)  # drift is confirmed on k of the last n monitored days
    persistence_n: int = Field(4, ge=1)
    cooldown_days: int = Field(7, ge=0)  # no drift retrain this many days after a promotion
    max_retrains: int = Field(2, ge=0)  # retrain budget: at most this many requests ...
    budget_days: int = Field(30, ge=1)  # ... per this many days
    retry_days: int = Field(7, ge=1)  # a drift episode may ask again after this many new days
    initial_min_days: int = Field(14, ge=1)  # no champion yet: first request after this many days
    retrain_window_days: int | None = Field(None, ge=2)  # default: training.window_days
    # What makes a day count toward a retrain: data drift, the champion's live quality
    # degrading (needs labels; see airloop.core.monitor.quality_check), either, or both.
    trigger: Literal["drift", "quality", "either", "both"] = "drift"
    quality_tolerance: float = Field(0.10, ge=0, le=10)  # relative degradation vs the holdout
    quality_confidence: float = Field(0.95, gt=0.5, lt=1)  # the CI must clear the tolerance
    quality_min_rows: int = Field(30, ge=5)  # fewer labelled rows: quality is not judged

    @model_validator(mode="after")
    def _k_of_n(self) -> DriftPolicySpec:
        if self.persistence_k > self.persistence_n:
            raise ValueError("persistence_k must not exceed persistence_n")
        return self


class MonitoringSpec(_Strict):
    """Evidently reports after each scoring: what is compared, at what cost, and the policy."""

    # Compared columns (default: all features). Leave out columns that drift by design, such
    # as calendar features, or every month looks like drift.
    columns: list[str] | None = None
    # Evidently's per-column tests, by its names: num_method, num_threshold, cat_method,
    # cat_threshold. Evidently picks p-value tests for small samples; daily data is
    # autocorrelated (weather), so distances with thresholds are steadier (see the bike spec).
    stattests: dict[str, str | float] = {}
    window_days: int = Field(7, ge=1)  # current data = validated days in (date - n, date]
    sample_rows: int = Field(5000, ge=100)  # fixed-size sample: bounded cost at any volume
    max_columns: int = Field(30, ge=1)  # column cap
    label_delay_days: int = Field(0, ge=0)  # actuals of a day's predictions arrive this late
    # Calibrated thresholds (airloop.core.monitor.calibration): set per champion from its own
    # training window so that calm data drifts at most this often. None: hand-set thresholds
    # (``thresholds``, ``stattests``) or Evidently's defaults.
    false_alarms_per_90_days: float | None = Field(None, gt=0, le=45)
    calibration_resamples: int = Field(200, ge=20, le=5000)
    # Known cycles compared like with like: the reference is drawn with the current window's
    # mix of these columns' values (hour, weekday). They need not be compared columns.
    calendar: list[str] = []
    thresholds: dict[str, float] = {}  # hand-set per-column thresholds; they beat calibration
    policy: DriftPolicySpec = DriftPolicySpec()

    @model_validator(mode="after")
    def _known_stattests(self) -> MonitoringSpec:
        unknown = sorted(set(self.stattests) - {"num_method", "num_threshold", "cat_method",
                                                 "cat_threshold"})  # fmt: skip
        if unknown:
            raise ValueError(f"stattests: unknown keys {unknown}")
        if self.false_alarms_per_90_days is not None:
            for kind in ("num", "cat"):
                method = self.stattests.get(f"{kind}_method")
                if method is not None and method not in CALIBRATED_METHODS:
                    raise ValueError(
                        f"stattests.{kind}_method {method!r} cannot be calibrated "
                        f"(false_alarms_per_90_days): use one of {list(CALIBRATED_METHODS)}"
                    )
        return self
