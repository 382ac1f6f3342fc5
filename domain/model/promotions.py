"""The marketplace's promotion rules, checked before calling it (pure).

Mercado Livre refuses an individual discount (PRICE_DISCOUNT) longer than 14 days, on an item
that is not active, not new, on a free listing type, under price automation, from a seller
without green reputation, or at a deal price not at least 5% below the price. Checking first
gives the seller a clear reason and spares a call that would fail; the marketplace's own
refusal (same codes) stays the truth when our copy of the facts is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from domain.model.campaigns import CampaignRules

MAX_PRICE_DISCOUNT = timedelta(days=14)
MIN_PRICE_DISCOUNT_PERCENT = Decimal("5")
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a price change may not be made: the marketplace's error code and a message."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the rules need to know about an item and its seller, read just before applying."""

    item_id: str
    price: Decimal  # the price before any live promotion
    status: str
    condition: str
    listing_type: str
    available_quantity: int
    price_automated: bool
    seller_green: bool
    unit_cost: Decimal | None = None


def deal_price(price: Decimal, percent: float) -> Decimal:
    """`percent` off `price`, rounded down to cents (so never less off than asked), and
    always strictly below the price."""
    off = (price * (Decimal(100) - Decimal(str(percent))) / Decimal(100)).quantize(
        CENT, rounding=ROUND_DOWN
    )
    return min(off, price - CENT)


def next_segment(
    starts_at: datetime, ends_at: datetime, now: datetime, after: datetime | None = None
) -> tuple[datetime, datetime]:
    """The promotion to send now: from the later of the discount's start, the previous
    segment's end and now, for at most 14 days (a longer discount is renewed segment by
    segment, each ending where the marketplace will end it by itself)."""
    start = max(starts_at, after or starts_at, now)
    return start, min(ends_at, start + MAX_PRICE_DISCOUNT)


def price_discount_refusal(
    facts: ItemFacts, deal: Decimal, starts_at: datetime, ends_at: datetime
) -> Refusal | None:
    """The marketplace's rules for an individual discount, in the order it checks them."""
    if ends_at - starts_at > MAX_PRICE_DISCOUNT:
        return Refusal(
            "promotion.duration_exceeded",
            "An individual discount lasts at most 14 days; renew it as consecutive promotions.",
        )
    if facts.price_automated:
        return Refusal(
            "item.price.automated",
            f"Item {facts.item_id} is under the marketplace's price automation; "
            "its price cannot be changed.",
        )
    if facts.condition != "new":
        return Refusal("item.condition.invalid", f"Item {facts.item_id} is not new.")
    if facts.listing_type == "free":
        return Refusal(
            "item.listing_type.invalid", f"Item {facts.item_id} has a free listing type."
        )
    if facts.status != "active":
        return Refusal(
            "item.status.invalid", f"Item {facts.item_id} is {facts.status}, not active."
        )
    if not facts.seller_green:
        return Refusal("seller.reputation.invalid", "The seller's reputation is not green.")
    ceiling = facts.price * (Decimal(100) - MIN_PRICE_DISCOUNT_PERCENT) / Decimal(100)
    if deal >= facts.price or deal > ceiling or deal <= 0:
        return Refusal(
            "promotion.price.invalid",
            f"The deal price {deal} must be at least {MIN_PRICE_DISCOUNT_PERCENT}% below "
            f"the price {facts.price}.",
        )
    return None


def campaign_refusal(
    rules: CampaignRules,
    facts: ItemFacts,
    deal: Decimal,
    *,
    percent: float | None = None,
    budget: Decimal | None = None,
    committed: Decimal = Decimal(0),
) -> Refusal | None:
    """The campaign's own rules: maximum discount, margin floor, stock floor, budget."""
    if percent is None:
        percent = float((facts.price - deal) / facts.price * 100)
    if rules.max_discount_percent is not None and percent > rules.max_discount_percent + 1e-9:
        return Refusal(
            "campaign.max_discount",
            f"{percent:.2f}% off is more than the campaign's maximum of "
            f"{rules.max_discount_percent:g}%.",
        )
    if rules.min_margin_percent is not None:
        if facts.unit_cost is None:
            return Refusal(
                "campaign.unit_cost_unknown",
                f"Listing {facts.item_id} has no unit cost, so the campaign's margin floor "
                "cannot be checked; set it with updateListingCost.",
            )
        floor = (facts.unit_cost * (1 + Decimal(str(rules.min_margin_percent)) / 100)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        if deal < floor:
            return Refusal(
                "campaign.margin_floor",
                f"The deal price {deal} is below the margin floor {floor} (unit cost "
                f"{facts.unit_cost} plus {rules.min_margin_percent:g}%).",
            )
    if rules.stock_floor is not None and facts.available_quantity < rules.stock_floor:
        return Refusal(
            "campaign.stock_floor",
            f"Listing {facts.item_id} has {facts.available_quantity} in stock, below the "
            f"campaign's floor of {rules.stock_floor}.",
        )
    if budget is not None and committed + spend_estimate(facts, deal) > budget:
        return Refusal(
            "campaign.budget",
            f"The discount could cost up to {spend_estimate(facts, deal)}, and the campaign "
            f"has {max(budget - committed, Decimal(0))} of its budget {budget} left.",
        )
    return None


def spend_estimate(facts: ItemFacts, deal: Decimal) -> Decimal:
    """The most a discount can cost: the price cut on every unit in stock."""
    return ((facts.price - deal) * max(facts.available_quantity, 0)).quantize(CENT)


def invitation_refusal(
    *,
    deal: Decimal,
    min_price: Decimal | None,
    max_price: Decimal | None,
    stock: int | None,
    min_stock: int | None,
    max_stock: int | None,
) -> Refusal | None:
    """An invitation's bounds: the deal price, and for LIGHTNING the stock committed."""
    if (min_price is not None and deal < min_price) or (max_price is not None and deal > max_price):
        return Refusal(
            "promotion.price.out_of_range",
            f"The deal price {deal} is outside the invitation's bounds "
            f"[{min_price if min_price is not None else '-'}, "
            f"{max_price if max_price is not None else '-'}].",
        )
    if min_stock is not None or max_stock is not None:
        if stock is None:
            return Refusal("promotion.stock.out_of_range", "This promotion needs a stock.")
        if (min_stock is not None and stock < min_stock) or (
            max_stock is not None and stock > max_stock
        ):
            return Refusal(
                "promotion.stock.out_of_range",
                f"The stock {stock} is outside the promotion's bounds [{min_stock}, {max_stock}].",
            )
    return None
