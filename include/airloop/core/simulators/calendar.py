"""The calendar of the bike data: DC's observed holidays and the dataset's seasons."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th ``weekday`` (Mon=0) of the month; n=-1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    """Federal rule for fixed-date holidays: Saturday → Friday, Sunday → Monday."""
    return day + dt.timedelta(days={5: -1, 6: 1}.get(day.weekday(), 0))


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    days: set[dt.date] = set()
    for y in (year, year + 1):  # New Year's Day of year+1 may be observed on Dec 31 of year
        fixed = [(1, 1), (7, 4), (11, 11), (12, 25)]
        fixed += [(4, 16)] * (y >= 2005) + [(6, 19)] * (y >= 2021)  # Emancipation, Juneteenth
        days |= {_observed(dt.date(y, m, d)) for m, d in fixed}
        days |= {
            _nth_weekday(y, 1, 0, 3),
            _nth_weekday(y, 2, 0, 3),
            _nth_weekday(y, 5, 0, -1),
            _nth_weekday(y, 9, 0, 1),
            _nth_weekday(y, 10, 0, 2),
            _nth_weekday(y, 11, 3, 4),
        }
        if y % 4 == 1:  # Inauguration Day, a DC-area federal holiday; Sunday moves to Monday
            inauguration = dt.date(y, 1, 20)
            days.add(inauguration + dt.timedelta(days=inauguration.weekday() == 6))
    return frozenset(d for d in days if d.year == year)


def us_dc_holidays(year: int) -> set[dt.date]:
    """Observed US federal holidays in Washington DC, plus DC Emancipation Day (Apr 16).

    Fixed-date holidays falling on a Saturday are observed the Friday before, on a Sunday the
    Monday after (so 2021-12-31 is New Year's Day 2022). Only observed dates are returned, as
    in the real dataset. Includes Juneteenth from 2021 and Inauguration Day (Jan 20 after a
    presidential election), which DC-area federal offices observe.
    """
    return set(_holidays(year))


def season_of(day: dt.date) -> int:
    """Astronomical seasons as the real data assigns them: 1 from Dec 21, 2 Mar 21, 3 Jun 21..."""
    md = (day.month, day.day)
    return 1 if md < (3, 21) or md >= (12, 21) else 2 if md < (6, 21) else 3 if md < (9, 23) else 4


def is_holiday(day: dt.date) -> bool:
    """Whether ``day`` is an observed DC holiday (cached per year)."""
    return day in _holidays(day.year)
