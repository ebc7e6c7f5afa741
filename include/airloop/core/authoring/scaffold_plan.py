"""How long a scaffolded pipeline waits before each stage, planned on the file's own days.

The first model comes when ``initial_min_days`` validated days exist. Training then holds out
the latest days (:func:`airloop.core.model.training.holdout_length`: a quarter of the days at
first) and needs ``min_rows`` rows *before* them, so the plan counts the training days and the
holdout days apart. A plan on the typical day fails half the time: a file of 34 rows a day by
median, planned as 200 / 34 + 1 = 7 days, gave 176 training and 24 holdout rows on day 7.
Instead every wait must hold in the file's first stretch of that many days (what a replay of it
meets first) and in 95 % of its stretches (what a live source of that shape may meet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from airloop.core.model import training

HOLDOUT_ROWS = 30  # a holdout smaller than this judges a model on noise
MONITOR_ROWS = 100  # rows a drift test compares, at least
SHARE = 0.95  # of the file's stretches of a plan's length that must hold what it promises
MAX_DAYS = 3660  # ten years: a plan longer than this is no plan (the scaffold warns)


class PlanError(ValueError):
    """The data is too sparse for any window a spec allows; the message says why."""


def _longest_window() -> int:
    """The longest training window a spec allows (``TrainingSpec.window_days``' bound)."""
    from airloop.spec import TrainingSpec

    bound = [m.le for m in TrainingSpec.model_fields["window_days"].metadata if hasattr(m, "le")]
    return int(bound[0]) if bound else MAX_DAYS


@dataclass(frozen=True)
class DayRows:
    """Labelled rows (what training fits on) of each replayed day, in replay order; with a time
    column also the days themselves, whose gaps stretch a plan's calendar span."""

    counts: list[int]
    days: list[date] | None = None  # sorted; None for fixed-size chunks (one a calendar day)

    @property
    def median(self) -> float:
        return float(np.median(self.counts))

    @property
    def low(self) -> int:
        """Rows of a thin day: the file's days' (1 - SHARE) quantile."""
        return int(np.quantile(self.counts, 1 - SHARE, method="lower"))

    def _sums(self, n: int, first: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the first ``first`` and of the other days of every ``n``-day stretch, the
        file's first stretch first (a file shorter than ``n`` days is taken as repeating)."""
        counts = np.asarray(self.counts, dtype=np.int64)
        if len(counts) < n:
            counts = np.resize(counts, len(counts) + n - 1)
        total = np.concatenate([[0], np.cumsum(counts)])
        starts = np.arange(len(counts) - n + 1)
        head = total[starts + first] - total[starts]
        return head, total[starts + n] - total[starts + first]

    def holds(self, n: int, first: int, first_rows: int, rest_rows: int) -> bool:
        """Do ``n`` days give ``first_rows`` in their first ``first`` days and ``rest_rows`` in
        the others, in the file's first stretch and in :data:`SHARE` of all of them?"""
        head, rest = self._sums(n, first)
        ok = (head >= first_rows) & (rest >= rest_rows)
        return bool(ok[0]) and float(ok.mean()) >= SHARE

    def days_for(self, rows: int) -> int:
        """The fewest consecutive days that hold ``rows`` rows (see :meth:`holds`)."""
        return next((n for n in range(1, MAX_DAYS) if self.holds(n, n, rows, 0)), MAX_DAYS)

    def span(self, n: int) -> int:
        """Calendar days that ``n`` consecutive data days take at most (weekends, gaps…)."""
        if self.days is None or len(self.days) < n:
            return n
        return max((self.days[i + n - 1] - self.days[i]).days + 1
                   for i in range(len(self.days) - n + 1))  # fmt: skip


def day_rows(
    target: pd.Series, days: pd.Series | None, chunk_rows: int | None, shuffle: int | None
) -> tuple[DayRows, pd.Series]:
    """Labelled rows per replayed day, and each row's day number (0: the first replayed day):
    by the time column's dates, else by chunks of the file as the source cuts them."""
    labelled = target.notna()
    if days is not None:
        per_day = labelled.groupby(days).sum()
        order = {day: i for i, day in enumerate(sorted(per_day.index))}
        return DayRows([int(n) for n in per_day], sorted(per_day.index)), days.map(order)
    assert chunk_rows, "without a time column the file is replayed in chunks"
    replayed = labelled if shuffle is None else labelled.sample(frac=1.0, random_state=shuffle)
    number = pd.Series(np.arange(len(replayed)) // chunk_rows, index=replayed.index)
    per_chunk = replayed.groupby(number.to_numpy()).sum()
    return DayRows([int(n) for n in per_chunk]), number.reindex(target.index)


def unfed(frame: pd.DataFrame, day_number: pd.Series, found: Plan, columns: list[str]) -> dict:
    """Which of ``columns`` have no value in ``frame``'s rows of the first model's training days
    (that training would fail on them), and why, for the notes."""
    days = found.initial_min_days - found.first_holdout_days
    early = frame.loc[day_number.reindex(frame.index) < days]
    why = f"no value in the first {days} days, where the first model trains"
    return {c: why for c in columns if early[c].isna().all()}


@dataclass(frozen=True)
class Plan:
    min_rows: int
    holdout_days: int  # the spec's: what later trainings hold out
    initial_min_days: int
    first_holdout_days: int  # what the first training holds out (shortened, see training)
    window_days: int
    monitor_days: int


def plan(rows: DayRows, min_rows: int) -> Plan:
    """Day counts that give every stage enough rows, however sparse or uneven the data."""
    min_rows = int(min(min_rows, max(20, rows.median * 20)))  # a daily series can't wait 200 days
    holdout_days = max(3, rows.days_for(HOLDOUT_ROWS))
    initial, held = MAX_DAYS, holdout_days
    for n in range(5, MAX_DAYS):
        held = training.holdout_length(holdout_days, n)
        if rows.holds(n, n - held, min_rows, HOLDOUT_ROWS):
            initial = n
            break
    span, longest = rows.span(initial), _longest_window()
    if span + 7 > longest:
        raise PlanError(
            f"the first model needs {initial} days of data ({min_rows} training rows and a "
            f"{held}-day holdout of {HOLDOUT_ROWS}, at a median {rows.median:.0f} labelled rows "
            f"a day), and in this file {initial} days span {span} calendar days: more than the "
            f"longest training window ({longest} days); bring denser data (more rows a day)"
        )
    return Plan(
        min_rows=min_rows, holdout_days=holdout_days, initial_min_days=initial,
        first_holdout_days=held, window_days=max(28, span + 7),
        monitor_days=max(7, rows.span(rows.days_for(MONITOR_ROWS))),
    )  # fmt: skip


def describe(rows: DayRows, found: Plan) -> str:
    """The plan of the first model, for the spec's notes."""
    held = found.first_holdout_days
    return (
        f"first model after {found.initial_min_days} validated days: "
        f"{found.initial_min_days - held} days of training (min_rows {found.min_rows}) and a "
        f"{held}-day holdout (>= {HOLDOUT_ROWS} rows), holding in the file's first such stretch "
        f"and in {SHARE:.0%} of them (labelled rows a day: median {rows.median:.0f}, "
        f"thin days {rows.low})"
    )
