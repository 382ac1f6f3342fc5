"""The demand model (docs/simulator.md): expected units per listing and day.

    lambda(i, t, p) = b_i * (p / r_i) ** e_i * (c_i(t) / r_i) ** KAPPA * W[dow(t)] * S_cat(i)(t) * U

b_i base units/day, r_i the reference (launch) price, e_i the listing's own-price elasticity,
c_i(t) the competitor's price, W weekly and S yearly seasonality, U the promotion uplift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from .catalog import CATEGORIES

FloatArray = npt.NDArray[np.float64]

KAPPA = 0.8  # cross-price elasticity to the competitor's price
COMPETITOR_AR = 0.98  # daily persistence of the competitor's log price gap
COMPETITOR_NOISE = 0.02  # daily shock of that gap (stationary sd about 0.10)
ELASTICITY_NOISE = 0.25  # listing-level spread around the category's elasticity
BASE_MEDIAN = 0.045  # median base units/day of a listing before its category's scale
BASE_SPREAD = 1.0  # lognormal sigma of base demand: a few listings sell most
# Monday .. Sunday: Brazilians buy online most early in the week, least on Saturday.
WEEKLY = np.array([1.10, 1.06, 1.03, 1.00, 0.95, 0.86, 1.00])
# visibility uplift on top of the price effect while a promotion is live
UPLIFT = {"PRICE_DISCOUNT": 1.15, "DEAL": 1.3, "LIGHTNING": 1.8, "DOD": 2.5}
# units of one order: mostly 1, some 2-3
ORDER_UNITS = np.array([1, 2, 3])
ORDER_UNITS_P = np.array([0.86, 0.10, 0.04])
MEAN_ORDER_UNITS = float((ORDER_UNITS * ORDER_UNITS_P).sum())
# share of a day's orders in each hour (Brazil time): quiet nights, peak in the evening
HOURLY = np.array(
    [2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 8, 7, 4], dtype=float
)
HOURLY = HOURLY / HOURLY.sum()
HISTORY_DAYS = 365
FUTURE_DAYS = 2 * 365  # the competitor series reaches this far past the shop's start, then stays


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def _black_friday(year: int) -> date:
    return _nth_weekday(year, 11, 3, 4) + timedelta(days=1)  # day after the 4th Thursday


def _bump_black_friday(day: date) -> float:
    offset = (day - _black_friday(day.year)).days
    return {0: 1.6, 1: 0.5, 2: 0.4, 3: 0.8}.get(offset, 0.4 if -7 <= offset < 0 else 0.0)


def _bump_christmas(day: date) -> float:
    if day.month != 12:
        return 0.0
    if day.day <= 23:
        return 0.7 * day.day / 23
    return {24: 0.2, 25: -0.5}.get(day.day, -0.1)


def _bump_mothers_day(day: date) -> float:
    offset = (_nth_weekday(day.year, 5, 6, 2) - day).days
    return 0.35 if 0 <= offset <= 12 else 0.0


def _bump_fathers_day(day: date) -> float:
    offset = (_nth_weekday(day.year, 8, 6, 2) - day).days
    return 0.25 if 0 <= offset <= 10 else 0.0


def _bump_january(day: date) -> float:
    return -0.15 if day.month == 1 else 0.0


def _bump_consumer_day(day: date) -> float:
    return 0.2 if day.month == 3 and 13 <= day.day <= 15 else 0.0


# (bump, weight per category in CATEGORIES order: phones, headphones, sneakers, computing,
# appliances, home, beauty, tools)
EVENTS: tuple[tuple[Callable[[date], float], tuple[float, ...]], ...] = (
    (_bump_black_friday, (1.2, 1.2, 1.0, 1.2, 1.1, 0.9, 0.9, 1.0)),
    (_bump_christmas, (1.0, 1.2, 1.1, 0.9, 0.9, 1.0, 1.1, 0.8)),
    (_bump_mothers_day, (0.6, 0.6, 0.8, 0.2, 1.3, 1.3, 1.8, 0.1)),
    (_bump_fathers_day, (1.0, 1.0, 1.0, 0.8, 0.3, 0.3, 0.6, 1.6)),
    (_bump_january, (1.0,) * 8),
    (_bump_consumer_day, (1.0,) * 8),
)


def seasonal(day: date) -> FloatArray:
    """Yearly factor per category for one day (1.0 = an ordinary day)."""
    factor = np.ones(len(CATEGORIES))
    for bump, weights in EVENTS:
        size = bump(day)
        if size:
            factor *= 1.0 + size * np.asarray(weights)
    return factor


@dataclass(slots=True)
class DemandModel:
    """Per-listing parameters and the competitor's price series of one shop."""

    first_day: date  # the day the competitor series starts (HISTORY_DAYS before the shop's start)
    category: npt.NDArray[np.int64]
    reference_price: FloatArray
    base: FloatArray
    elasticity: FloatArray
    competitor_gap: npt.NDArray[np.float32]  # log(c_i(t) / r_i), shape (listings, days); 5 MB
    _seasonal_cache: dict[date, FloatArray] = field(default_factory=dict)

    @classmethod
    def generate(
        cls,
        first_day: date,
        category: npt.NDArray[np.int64],
        reference_price: FloatArray,
        rng: np.random.Generator,
    ) -> DemandModel:
        count = len(category)
        scale = np.array([c.demand for c in CATEGORIES])[category]
        base = BASE_MEDIAN * scale * rng.lognormal(0.0, BASE_SPREAD, count)
        mean_elasticity = np.array([c.elasticity for c in CATEGORIES])[category]
        elasticity = np.minimum(mean_elasticity + rng.normal(0.0, ELASTICITY_NOISE, count), -0.3)
        days = HISTORY_DAYS + FUTURE_DAYS
        level = rng.normal(0.0, 0.08, count)  # the competitor is a bit dearer or cheaper
        shocks = rng.normal(0.0, COMPETITOR_NOISE, (days, count))
        gap = np.empty((days, count))
        current = rng.normal(0.0, 0.1, count)
        for day in range(days):
            current = COMPETITOR_AR * current + shocks[day]
            gap[day] = current
        return cls(
            first_day=first_day,
            category=category,
            reference_price=reference_price,
            base=base,
            elasticity=elasticity,
            competitor_gap=np.ascontiguousarray((gap + level).T, dtype=np.float32),
        )

    def day_index(self, day: date) -> int:
        index = (day - self.first_day).days
        return min(max(index, 0), self.competitor_gap.shape[1] - 1)

    def season(self, day: date) -> FloatArray:
        """Weekly times yearly factor per category for `day`."""
        cached = self._seasonal_cache.get(day)
        if cached is None:
            cached = seasonal(day) * WEEKLY[day.weekday()]
            self._seasonal_cache[day] = cached
        return cached

    def competitor_price(self, day: date) -> FloatArray:
        gap = self.competitor_gap[:, self.day_index(day)].astype(np.float64)
        return self.reference_price * np.exp(gap)

    def expected_units(self, day: date, price: FloatArray, uplift: FloatArray) -> FloatArray:
        """Expected units sold per listing on `day` at `price` (all listings at once)."""
        gap = self.competitor_gap[:, self.day_index(day)].astype(np.float64)
        return (
            self.base
            * (price / self.reference_price) ** self.elasticity
            * np.exp(KAPPA * gap)
            * self.season(day)[self.category]
            * uplift
        )


def draw_orders(
    expected: FloatArray, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Orders for one period: (listing index, units) per order, grouped by listing.

    The number of orders is Poisson with mean expected / MEAN_ORDER_UNITS, so expected units
    equal `expected`.
    """
    counts = rng.poisson(expected / MEAN_ORDER_UNITS)
    listing = np.repeat(np.arange(len(expected)), counts)
    units = rng.choice(ORDER_UNITS, size=len(listing), p=ORDER_UNITS_P)
    return listing.astype(np.int64), units.astype(np.int64)


def within_stock(
    listing: npt.NDArray[np.int64], units: npt.NDArray[np.int64], stock: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which orders (grouped by listing, in arrival order) the stock can serve.

    An order larger than what is left is lost (a stock-out); no sales at 0.
    """
    if len(listing) == 0:
        return np.zeros(0, dtype=bool)
    cumulative = np.cumsum(units)
    starts = np.r_[0, np.flatnonzero(np.diff(listing)) + 1]
    before_group = np.repeat(cumulative[starts] - units[starts], np.diff(np.r_[starts, len(units)]))
    return bool_array(cumulative - before_group <= stock[listing])


def bool_array(values: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    return np.asarray(values, dtype=bool)
