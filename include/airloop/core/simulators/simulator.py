"""Deterministic generator of the UCI Bike Sharing *hourly* schema (Capital Bikeshare, DC).

The default data source, so the demo runs with nothing downloaded. Each day draws from its own
RNG, derived from ``(seed, date ordinal)``: any day can be regenerated alone, and a range is
exactly its days concatenated. The constants below are model parameters fitted to the real
2011–2012 ``hour.csv`` (levels, hour-of-day shapes, weather statistics); no data is copied.

Weather: day-to-day anomalies are a short moving average of per-day innovations (so fronts
persist over ~3 days without a sequential state), hourly weather is a Markov chain within the
day. Demand: logistic growth × hour profile × temperature/weather response, softly capped by
fleet capacity, with Poisson-gamma count noise. Zero-count night hours are kept (the real file
drops them); ``missing_hour_rate`` removes rows, mostly in the small hours.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from airloop.core.simulators.calendar import is_holiday, season_of

COLUMNS: tuple[str, ...] = (
    "instant",
    "dteday",
    "season",
    "yr",
    "mnth",
    "hr",
    "holiday",
    "weekday",
    "workingday",
    "weathersit",
    "temp",
    "atemp",
    "hum",
    "windspeed",
    "casual",
    "registered",
    "cnt",
)

_EPOCH = dt.date(2011, 1, 1)
_H = np.arange(24)
_HP = (_H - 4) % 24  # profile clock starting 04:00: evening riding carries past midnight
_TAU = 2.0 * math.pi

# Hourly weathersit transitions (rows: from 1..4), close to the real within-day frequencies.
_TRANS = np.array(
    [
        [0.923, 0.070, 0.007, 0.000],
        [0.180, 0.755, 0.065, 0.000],
        [0.088, 0.320, 0.590, 0.002],
        [0.000, 0.060, 0.690, 0.250],
    ]
)
_START = np.array([0.67, 0.27, 0.06, 0.0002])
_WET_TILT = np.array([-1.0, 0.0, 1.0, 1.5])  # how a wet day re-weights states 1..4
_HUM_BY_WS = np.array([0.0, 0.0, 0.08, 0.18, 0.22])  # indexed by weathersit
_DEMAND_BY_WS = {
    "registered": np.array([0, 1.0, 0.93, 0.65, 0.3]),
    "casual": np.array([0, 1.0, 0.82, 0.48, 0.15]),
}
_MA = np.array([1.0, 0.8, 0.45, 0.15]) / math.hypot(1.0, 0.8, 0.45, 0.15)  # lag-1 corr ≈ 0.66

# Hour profiles fitted to the 2011–2012 hourly means: an envelope (amplitude, rise centre, rise
# width, fall centre, fall width on the 04:00 clock) plus Gaussian bumps (amplitude, centre,
# width). On working days the bumps are the commute peaks that ``commute_peak_factor`` scales.
_PROFILE_PARAMS = {
    ("registered", True): (
        (138.0, 1.65, 0.35, 19.2, 0.6),
        ((319.0, 4.0, 0.68), (341.0, 13.6, 1.19)),
    ),
    ("registered", False): ((316.0, 5.3, 1.23, 14.2, 4.1), ((38.0, 13.5, 1.45),)),
    ("casual", True): ((46.0, 4.7, 1.5, 17.4, 1.6), ((13.8, 13.3, 0.92),)),
    ("casual", False): ((179.0, 5.95, 1.03, 11.9, 3.5), ((41.0, 11.8, 2.1),)),
}
# Temperature response (°C): best, width below, width above. Leisure riders are fussier.
_TEMP_RESPONSE = {"registered": (27.0, 21.0, 14.0), "casual": (27.0, 13.5, 12.0)}
_SCALE = {"registered": 4.45, "casual": 5.3}  # calibrated: 2011–2012 mean cnt matches real
_CAPACITY = 2800.0  # hourly rentals the fleet can serve at full growth (~1200 in 2012)
_NB_SHAPE = 150.0  # hourly Poisson-gamma overdispersion: the rate has CV 0.08


def _profile(kind: str, working: bool) -> tuple[np.ndarray, np.ndarray]:
    (amp, rise, rise_w, fall, fall_w), bumps = _PROFILE_PARAMS[kind, working]
    envelope = amp / (1 + np.exp(-(_HP - rise) / rise_w)) / (1 + np.exp(-(fall - _HP) / fall_w))
    peaks = sum(a * np.exp(-0.5 * ((_HP - c) / w) ** 2) for a, c, w in bumps)
    return envelope, np.asarray(peaks)


_PROFILES = {key: _profile(*key) for key in _PROFILE_PARAMS}


@dataclass(frozen=True)
class DriftScenario:
    """A regime shift applied to every day ``>= start``; earlier days are untouched."""

    start: dt.date
    temp_shift: float = 0.0  # added to normalized temp and atemp (clipped to [0, 1])
    humidity_shift: float = 0.0  # added to hum (clipped)
    demand_multiplier: float = 1.0  # scales expected demand
    commute_peak_factor: float = 1.0  # scales working-day commute peaks (<1 flattens them)
    casual_share_factor: float = 1.0  # scales casual demand relative to registered

    def __post_init__(self) -> None:
        if isinstance(self.start, dt.datetime):  # date < datetime comparisons raise TypeError
            object.__setattr__(self, "start", self.start.date())
        factors = (self.demand_multiplier, self.commute_peak_factor, self.casual_share_factor)
        if not all(math.isfinite(f) and f >= 0 for f in factors):
            raise ValueError("drift multipliers must be finite and >= 0")
        if not (math.isfinite(self.temp_shift) and math.isfinite(self.humidity_shift)):
            raise ValueError("drift shifts must be finite")


def _anomalies(seed: int, ordinal: int) -> np.ndarray:
    """Unit-variance (temperature, wetness, humidity) anomalies correlated over ~3 days."""
    lags = [
        np.random.default_rng([seed, o, 0x5EED]).standard_normal(3)
        for o in range(ordinal, ordinal - 4, -1)
    ]
    return _MA @ np.stack(lags)


def _growth(day: dt.date) -> float:
    """Logistic adoption: ~60 % year-on-year in 2011–12, saturating ~2.6× the 2012 level."""
    years = (day.toordinal() - _EPOCH.toordinal()) / 365.25
    return 1.0 / (1.0 + math.exp(-0.7 * (years - 2.2)))


def _temp_response(t_c: np.ndarray, kind: str) -> np.ndarray:
    best, cold, hot = _TEMP_RESPONSE[kind]
    return np.exp(-0.5 * ((t_c - best) / np.where(t_c < best, cold, hot)) ** 2)


def _simulate(
    day: dt.date, seed: int, drift: DriftScenario | None, missing_hour_rate: float
) -> dict[str, np.ndarray]:
    if isinstance(day, dt.datetime):
        day = day.date()
    ordinal, doy = day.toordinal(), day.timetuple().tm_yday
    rng = np.random.default_rng([seed, ordinal])
    # Every draw has a fixed size and shape parameter, so the stream stays aligned whatever
    # the drift: a drifted day keeps its weather and noise and differs only as configured.
    u_weather, u_missing = rng.random(24), rng.random(24)
    z = rng.standard_normal((4, 28))
    # 5-hour moving averages (unit variance): hourly weather wanders rather than flickers.
    zs = np.stack([np.convolve(row, np.full(5, 5**-0.5), mode="valid") for row in z])
    # Day-level demand factors the features cannot see (CV ~8 % and ~13 %): the real data
    # leaves a model ~R² 0.9 on a week ahead; more hidden noise would make every model look bad.
    cycle_amp, wind_day, day_level, casual_day = rng.standard_gamma([6.0, 4.0, 150.0, 60.0])
    rate_noise = rng.standard_gamma(_NB_SHAPE, (2, 24)) / _NB_SHAPE
    count_rngs = rng.spawn(2)

    a_temp, a_wet, a_hum = _anomalies(seed, ordinal)
    winter = math.cos(_TAU * (doy - 20) / 365.25)
    tilt = np.exp(0.45 * (a_wet + 0.3 * winter) * _WET_TILT)  # wetter in winter, drier summers
    trans = _TRANS * tilt
    cum_trans = np.cumsum(trans / trans.sum(axis=1, keepdims=True), axis=1)
    state = int(np.searchsorted(np.cumsum(_START * tilt) / (_START * tilt).sum(), u_weather[0]))
    ws = np.empty(24, dtype=np.int64)
    for h in range(24):  # 24 steps; a Python loop is cheaper than any vectorized trick here
        if h:
            state = int(np.searchsorted(cum_trans[state], u_weather[h]))
        ws[h] = min(state, 3) + 1

    amp = 3.6 * cycle_amp / 6.0 * (1.0 - 0.15 * (ws.mean() - 1.0))  # clouds damp the cycle
    t_c = (
        15.3
        - 11.2 * math.cos(_TAU * (doy - 17) / 365.25)
        + 3.4 * (1 + 0.2 * winter) * a_temp
        + amp * np.cos(_TAU * (_H - 15.65) / 24)
        + 0.23 * amp * np.cos(2 * _TAU * (_H - 1.85) / 24)
        - 0.8 * (ws - 1)
        + 0.5 * zs[0]
    )
    hum = 0.60 + 0.124 * np.cos(_TAU * (_H - 3.5) / 24) + 0.09 * (a_hum + a_wet)
    hum = hum + _HUM_BY_WS[ws] + 0.06 * zs[1]
    kmh = 13.6 * wind_day / 4.0 * (1 + 0.22 * np.cos(_TAU * (_H - 15) / 24))
    kmh = kmh * np.exp(0.35 * zs[3] - 0.06)
    kmh = np.where(kmh < 5.5, 0.0, np.round(kmh))  # anemometer calm floor, as in the real data
    # Quantize like the real file: temp on a 0.02 grid, atemp and wind in whole units.
    temp = np.round((t_c + 8.0) / 47.0 * 50.0) / 50.0
    atemp = np.round(np.round(1.24 * t_c - 3.6 + 1.6 * z[2, 2:-2] + 16.0) / 66.0, 4)
    hum = np.round(hum, 2)

    drifted = drift is not None and day >= drift.start
    if drifted:
        temp, atemp = temp + drift.temp_shift, atemp + drift.temp_shift
        hum = hum + drift.humidity_shift
    temp, atemp, hum = np.clip(temp, 0, 1), np.clip(atemp, 0, 1), np.clip(hum, 0, 1)
    windspeed = np.clip(np.round(kmh / 67.0, 4), 0, 1)

    holiday = is_holiday(day)
    weekday = (day.weekday() + 1) % 7  # the real data counts from Sunday = 0
    working = weekday not in (0, 6) and not holiday
    # Demand reacts to the (possibly drifted) features, so a feature shift is a covariate shift.
    t_feel = temp * 47.0 - 8.0
    weather = np.exp(-1.5 * np.maximum(hum - 0.7, 0) - np.maximum(kmh - 30.0, 0) / 40.0)
    level = _growth(day) * day_level / 150.0 * (drift.demand_multiplier if drifted else 1.0)
    commute = drift.commute_peak_factor if drifted and working else 1.0
    mu = {}
    for kind in ("registered", "casual"):
        envelope, peaks = _PROFILES[kind, working]
        m = _SCALE[kind] * level * (envelope + commute * peaks) * _temp_response(t_feel, kind)
        mu[kind] = m * weather * _DEMAND_BY_WS[kind][ws]
    mu["casual"] *= casual_day / 60.0 * (drift.casual_share_factor if drifted else 1.0)
    # Docks and bikes cap an hour's rentals: saturate smoothly as demand nears fleet capacity.
    squash = (1.0 + ((mu["registered"] + mu["casual"]) / (_CAPACITY * _growth(day))) ** 4) ** -0.25
    counts = {
        kind: count_rngs[i].poisson(mu[kind] * squash * rate_noise[i]).astype(np.int64)
        for i, kind in enumerate(("registered", "casual"))
    }

    # Gaps cluster in the small hours, as in the real file; never drop a whole day.
    weight = 1.0 + 10.0 * np.exp(-0.5 * ((_H - 3.5) / 1.3) ** 2)
    keep = u_missing >= np.minimum(missing_hour_rate * 24.0 * weight / weight.sum(), 1.0)
    if not keep.any():
        keep[17] = True
    ints = {
        "instant": (ordinal - _EPOCH.toordinal()) * 24 + _H + 1,
        "season": season_of(day),
        "yr": day.year - 2011,
        "mnth": day.month,
        "hr": _H,
        "holiday": int(holiday),
        "weekday": weekday,
        "workingday": int(working),
        "weathersit": ws,
    }
    out = {k: np.broadcast_to(v, 24).astype(np.int64) for k, v in ints.items()}
    out.update(dteday=np.full(24, day.isoformat(), dtype=object), temp=temp, atemp=atemp)
    out.update(hum=hum, windspeed=windspeed, **counts)
    out["cnt"] = counts["casual"] + counts["registered"]
    return {c: out[c][keep] for c in COLUMNS}


def _check(seed: int, missing_hour_rate: float) -> None:
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0.0 <= missing_hour_rate <= 1.0:
        raise ValueError(f"missing_hour_rate must be in [0, 1], got {missing_hour_rate!r}")


def _frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    if not parts:
        empty = {c: np.empty(0, dtype=np.int64) for c in COLUMNS}
        empty.update(dteday=np.empty(0, dtype=object))
        empty.update({c: np.empty(0) for c in ("temp", "atemp", "hum", "windspeed")})
        parts = [empty]
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in COLUMNS})


def simulate_day(
    day: dt.date,
    *,
    seed: int = 0,
    drift: DriftScenario | None = None,
    missing_hour_rate: float = 0.01,
) -> pd.DataFrame:
    """One day of hourly rows (up to 24; a few may be missing) in the UCI hourly schema."""
    _check(seed, missing_hour_rate)
    return _frame([_simulate(day, seed, drift, missing_hour_rate)])


def simulate_range(
    start: dt.date,
    days: int,
    *,
    seed: int = 0,
    drift: DriftScenario | None = None,
    missing_hour_rate: float = 0.01,
) -> pd.DataFrame:
    """``days`` consecutive days from ``start``; identical to concatenating ``simulate_day``."""
    _check(seed, missing_hour_rate)
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    if isinstance(start, dt.datetime):
        start = start.date()
    parts = [
        _simulate(start + dt.timedelta(days=i), seed, drift, missing_hour_rate) for i in range(days)
    ]
    return _frame(parts)
