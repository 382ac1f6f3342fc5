"""One seller's simulated shop: listings, stock, a year of orders and new ones as time passes."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from .catalog import CATEGORIES, Catalog, charm, generate_catalog
from .demand import (
    HISTORY_DAYS,
    HOURLY,
    UPLIFT,
    DemandModel,
    draw_orders,
    within_stock,
)
from .promotions import Invitation, Promotion, generate_invitations
from .timefmt import DAY, brt_date, brt_midnight

SLOT = 900  # seconds of simulated time per step of the live order generator
SLOTS_PER_DAY = DAY // SLOT
CANCEL_RATE = 0.03
BUYERS = 6000
FIRST_NAMES = (
    "ANA", "MARIA", "JOAO", "PEDRO", "LUCAS", "JULIA", "GABRIEL", "BEATRIZ", "RAFAEL", "LARISSA",
    "CARLOS", "FERNANDA", "BRUNO", "CAMILA", "DIEGO", "PATRICIA", "MATEUS", "LETICIA", "TIAGO",
    "AMANDA",
)  # fmt: skip
SURNAMES = (
    "SILVA", "SANTOS", "OLIVEIRA", "SOUZA", "RODRIGUES", "FERREIRA", "ALVES", "PEREIRA", "LIMA",
    "GOMES", "COSTA", "RIBEIRO", "MARTINS", "CARVALHO", "ROCHA", "ALMEIDA",
)  # fmt: skip
STORE_WORDS = ("MEGA", "SHOP", "LOJA", "CASA", "TECH", "OFERTAS", "BRASIL", "DIGITAL", "PRIME")


@dataclass(slots=True)
class Order:
    """One order of one listing (Mercado Livre orders hold a list; ours hold one line)."""

    id: int
    listing: int
    units: int
    unit_price: float
    full_unit_price: float
    created: float
    buyer: int
    cancelled: bool


@dataclass(slots=True)
class Shop:
    """A seller with its listings (column arrays), orders and promotions."""

    seed: int
    user_id: int
    nickname: str
    reputation: str
    start: float  # the simulated moment the shop was created (its history ends here)
    day0: float  # midnight (Brazil) of the start's day; live slots count from it
    catalog: Catalog
    demand: DemandModel
    list_price: npt.NDArray[np.float64]
    stock: npt.NDArray[np.int64]
    sold: npt.NDArray[np.int64]
    status: list[str]
    last_updated: npt.NDArray[np.float64]
    replenish_period: npt.NDArray[np.int64]
    replenish_phase: npt.NDArray[np.int64]
    replenish_target: npt.NDArray[np.int64]
    buyer_ids: npt.NDArray[np.int64]
    buyer_names: list[str]
    buyer_cumulative: npt.NDArray[np.float64]
    item_base: int
    order_base: int
    orders: list[Order] = field(default_factory=list)
    order_times: list[float] = field(default_factory=list)
    order_index: dict[int, Order] = field(default_factory=dict)
    promotions: list[Promotion] = field(default_factory=list)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    deal_price: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    uplift: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    next_slot: int = 0
    _selling: npt.NDArray[np.bool_] | None = None

    # ---- identities
    @property
    def size(self) -> int:
        return len(self.catalog.titles)

    def item_id(self, index: int) -> str:
        return f"MLB{self.item_base + index}"

    def index_of(self, item_id: str) -> int | None:
        if not item_id.startswith("MLB") or not item_id[3:].isdigit():
            return None
        index = int(item_id[3:]) - self.item_base
        return index if 0 <= index < self.size else None

    def price(self, index: int) -> float:
        """What a buyer pays now: the deal price while a promotion is live."""
        deal = self.deal_price[index]
        return float(deal) if deal > 0 else float(self.list_price[index])

    def automated(self, index: int) -> bool:
        return bool(self.catalog.automated[index])

    # ---- orders
    def add_orders(self, orders: list[Order]) -> None:
        for order in orders:
            self.orders.append(order)
            self.order_times.append(order.created)
            self.order_index[order.id] = order

    def orders_between(self, start: float | None, end: float | None) -> list[Order]:
        low = 0 if start is None else bisect.bisect_left(self.order_times, start)
        high = len(self.orders) if end is None else bisect.bisect_right(self.order_times, end)
        return self.orders[low:high]

    def make_orders(
        self,
        rng: np.random.Generator,
        listing: npt.NDArray[np.int64],
        units: npt.NDArray[np.int64],
        unit_price: npt.NDArray[np.float64],
        full_price: npt.NDArray[np.float64],
        created: npt.NDArray[np.float64],
    ) -> list[Order]:
        """Orders in time order, with ids following the last one, buyers and cancellations."""
        order = np.argsort(created, kind="stable")
        draws = rng.random(len(order)) * self.buyer_cumulative[-1]
        buyers = np.searchsorted(self.buyer_cumulative, draws)
        cancelled = rng.random(len(order)) < CANCEL_RATE
        first = self.order_base + len(self.orders)
        return [
            Order(
                id=first + position,
                listing=int(listing[k]),
                units=int(units[k]),
                unit_price=round(float(unit_price[k]), 2),
                full_unit_price=round(float(full_price[k]), 2),
                created=round(float(created[k]), 3),
                buyer=int(buyers[position]),
                cancelled=bool(cancelled[position]),
            )
            for position, k in enumerate(order)
        ]

    def sell(
        self, rng: np.random.Generator, expected: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Draw orders from `expected` units, keep those the stock serves, take the stock."""
        listing, units = draw_orders(expected, rng)
        served = within_stock(listing, units, self.stock)
        listing, units = listing[served], units[served]
        taken = np.bincount(listing, weights=units, minlength=self.size).astype(np.int64)
        self.stock -= taken
        self.sold += taken
        return listing, units

    def replenish(self, day_number: int) -> None:
        due = (day_number - self.replenish_phase) % self.replenish_period == 0
        self.stock = np.where(due, np.maximum(self.stock, self.replenish_target), self.stock)

    def selling(self) -> npt.NDArray[np.bool_]:
        """Listings that can sell (active); cached until a status changes."""
        if self._selling is None:
            self._selling = np.array([status == "active" for status in self.status], dtype=bool)
        return self._selling

    def set_status(self, index: int, status: str) -> None:
        self.status[index] = status
        self._selling = None

    # ---- live simulation
    def slot_start(self, slot: int) -> float:
        return self.day0 + slot * SLOT

    def run_slot(self, slot: int) -> list[Order]:
        """The orders of one 15-minute step of simulated time (deterministic per seed and slot)."""
        rng = np.random.default_rng([self.seed, 1, slot])
        start = self.slot_start(slot)
        day = brt_date(start)
        if slot % SLOTS_PER_DAY == 0:
            self.replenish(HISTORY_DAYS + slot // SLOTS_PER_DAY)
        price = np.where(self.deal_price > 0, self.deal_price, self.list_price)
        hour = int((start - brt_midnight(start)) // 3600)
        share = HOURLY[hour] * SLOT / 3600
        expected = self.demand.expected_units(day, price, self.uplift) * share * self.selling()
        listing, units = self.sell(rng, expected)
        created = start + rng.random(len(listing)) * SLOT
        orders = self.make_orders(
            rng, listing, units, price[listing], self.list_price[listing], created
        )
        self.add_orders(orders)
        self.next_slot = slot + 1
        return orders


def _buyers(seed: int, rng: np.random.Generator) -> tuple[npt.NDArray[np.int64], list[str]]:
    ids = 500_000_000 + (seed % 10_000) * 10_000 + np.arange(BUYERS)
    first = rng.choice(FIRST_NAMES, BUYERS)
    last = rng.choice(SURNAMES, BUYERS)
    digits = rng.integers(10, 9999, BUYERS)
    names = [f"{a}{b}{d}" for a, b, d in zip(first, last, digits, strict=True)]
    return ids.astype(np.int64), names


def user_id_for(seed: int) -> int:
    return 100_000_000 + (seed * 7_919) % 800_000_000


def generate_shop(seed: int, items: int, start: float, reputation: str = "5_green") -> Shop:
    """A seller with `items` listings and the year of orders before `start`."""
    rng = np.random.default_rng([seed, 0])
    catalog = generate_catalog(items, rng)
    start_day = brt_date(start)
    first_day = start_day - timedelta(days=HISTORY_DAYS)
    demand = DemandModel.generate(first_day, catalog.category, catalog.price.copy(), rng)
    user_id = user_id_for(seed)
    buyer_ids, buyer_names = _buyers(seed, rng)
    weights = 1.0 / (np.arange(BUYERS) + 20.0) ** 1.1  # a few loyal buyers come back often
    period = rng.choice([7, 14, 21, 30], size=items)
    target = np.ceil(
        demand.base * period * rng.uniform(1.0, 2.5, items) + rng.integers(1, 6, items)
    )
    word = STORE_WORDS[seed % len(STORE_WORDS)]
    shop = Shop(
        seed=seed,
        user_id=user_id,
        nickname=f"LOJA_{word}_{seed}",
        reputation=reputation,
        start=start,
        day0=brt_midnight(start),
        catalog=catalog,
        demand=demand,
        list_price=catalog.price.copy(),
        stock=target.astype(np.int64),
        sold=rng.integers(0, 200, items).astype(np.int64),  # sales before the year we simulate
        status=["active"] * items,  # the final statuses are set at their day in the history
        last_updated=np.zeros(items),
        replenish_period=period.astype(np.int64),
        replenish_phase=rng.integers(0, 30, items).astype(np.int64),
        replenish_target=target.astype(np.int64),
        buyer_ids=buyer_ids,
        buyer_names=buyer_names,
        buyer_cumulative=np.cumsum(weights),
        item_base=3_000_000_000 + (user_id % 90_000) * 10_000,
        order_base=2_000_000_000_000_000 + (user_id % 100_000) * 1_000_000_000,
        deal_price=np.zeros(items),
        uplift=np.ones(items),
    )
    _simulate_history(shop, first_day, rng)
    shop.invitations = generate_invitations(shop, rng)
    return shop


def _simulate_history(shop: Shop, first_day: date, rng: np.random.Generator) -> None:
    """The year before the start, day by day over all listings at once.

    Prices move now and then, past individual discounts come and go, paused and closed
    listings stop selling on the day they changed status, stock runs out and is replenished.
    """
    n = shop.size
    catalog = shop.catalog
    eligible = (~catalog.used) & (np.array(catalog.listing_type) != "free") & ~catalog.automated
    final_status = np.array(catalog.status)
    status_day = np.where(
        final_status == "active", HISTORY_DAYS, HISTORY_DAYS - rng.integers(1, 200, n)
    )
    promo_left = np.zeros(n, dtype=np.int64)
    promo_depth = np.zeros(n)
    changed = np.full(n, -1.0)
    parts: list[tuple[npt.NDArray[np.int64], ...]] = []
    prices: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    for day_number in range(HISTORY_DAYS):
        day = first_day + timedelta(days=day_number)
        day_start = shop.day0 - (HISTORY_DAYS - day_number) * DAY
        shop.replenish(day_number)
        moves = rng.random(n) < 1 / 75
        if moves.any():
            factor = rng.lognormal(0.0, 0.07, int(moves.sum()))
            shop.list_price[moves] = charm(shop.list_price[moves] * factor)
            changed[moves] = day_start
        promo_left = np.maximum(promo_left - 1, 0)
        starts = eligible & (promo_left == 0) & (rng.random(n) < 1 / 45)
        promo_left[starts] = rng.integers(3, 15, int(starts.sum()))
        promo_depth[starts] = rng.uniform(0.05, 0.30, int(starts.sum()))
        live = promo_left > 0
        price = np.where(live, (shop.list_price * (1 - promo_depth)).round(2), shop.list_price)
        uplift = np.where(live, UPLIFT["PRICE_DISCOUNT"], 1.0)
        selling = status_day > day_number
        expected = shop.demand.expected_units(day, price, uplift) * selling
        listing, units = shop.sell(rng, expected)
        parts.append((listing, units, np.full(len(listing), day_number)))
        prices.append((price[listing], shop.list_price[listing]))
    listing = np.concatenate([part[0] for part in parts])
    units = np.concatenate([part[1] for part in parts])
    day_numbers = np.concatenate([part[2] for part in parts])
    hours = rng.choice(24, size=len(listing), p=HOURLY)
    created = (
        shop.day0
        - (HISTORY_DAYS - day_numbers) * DAY
        + hours * 3600
        + rng.random(len(listing)) * 3600
    )
    unit_price = np.concatenate([pair[0] for pair in prices])
    full_price = np.concatenate([pair[1] for pair in prices])
    shop.add_orders(shop.make_orders(rng, listing, units, unit_price, full_price, created))
    shop.status = [str(value) for value in final_status]
    shop._selling = None
    created_at = shop.start - catalog.created_days_ago * DAY
    last_sale = np.full(n, -1.0)
    if shop.orders:
        np.maximum.at(last_sale, listing, created)
    shop.last_updated = np.maximum.reduce([created_at, changed, last_sale]).round(3)


def category_of(shop: Shop, index: int) -> str:
    return CATEGORIES[int(shop.catalog.category[index])].id
