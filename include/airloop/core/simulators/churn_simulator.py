"""Simulated subscription renewals: the source of the shipped ``subscription_churn`` example.

Each day, the customers whose monthly renewal falls due; the target ``churned`` says whether
they cancelled (~12 %, imbalanced). From ``drift_start`` on, a competitor launches: usage drops,
a price rise lifts fees, support tickets pile up, and price-sensitive basic-plan customers churn
far more — the features drift *and* the relationship to the target changes, so only a model
retrained on the new regime ranks churners well. Deterministic per (seed, day).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

PLANS = ("basic", "standard", "premium")
BASE_FEE = {"basic": 9.0, "standard": 15.0, "premium": 25.0}
PAYMENTS = ("card", "paypal", "invoice")
REGIONS = ("north", "south", "east", "west")


def simulate_day(
    day: date,
    seed: int = 0,
    customers: int = 400,
    drift_start: str | date | None = None,
    fee_increase: float = 0.15,
    usage_drop: float = 0.35,
) -> pd.DataFrame:
    """The renewals due on ``day`` (see the module docstring)."""
    rng = np.random.default_rng([seed, day.toordinal()])
    start = date.fromisoformat(drift_start) if isinstance(drift_start, str) else drift_start
    shifted = start is not None and day >= start
    n = int(rng.poisson(customers))
    plan = rng.choice(PLANS, n, p=[0.5, 0.35, 0.15])
    tenure = rng.integers(1, 73, n)
    fee = np.array([BASE_FEE[p] for p in plan]) * rng.uniform(0.9, 1.1, n)
    usage = rng.gamma(2.0, 6.0, n)
    tickets = rng.poisson(0.6, n)
    payment = rng.choice(PAYMENTS, n, p=[0.6, 0.25, 0.15])
    region = rng.choice(REGIONS, n)
    discount = (rng.random(n) < 0.2).astype(int)
    basic = plan == "basic"
    logit = -1.2 - 0.03 * tenure - 0.06 * usage + 0.35 * tickets + 0.4 * (payment == "invoice")
    logit = logit - 0.5 * discount + 0.3 * basic
    if shifted:
        fee = fee * (1 + fee_increase)
        usage = usage * (1 - usage_drop)
        tickets = tickets + rng.poisson(0.8, n)
        # The competitor targets price-sensitive basic customers; loyalty counts for less.
        logit = logit + 1.6 * basic + 0.02 * tenure - 0.8 * discount
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "renewal_date": day.isoformat(),
            "customer_id": day.toordinal() * 10_000 + np.arange(n),
            "plan": plan,
            "tenure_months": tenure,
            "monthly_fee": fee.round(2),
            "usage_hours": usage.round(2),
            "support_tickets": tickets,
            "payment_method": payment,
            "region": region,
            "discount": discount,
            "churned": churned,
        }
    )
